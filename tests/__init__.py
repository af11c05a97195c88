"""Support shared by every app's tests: servers, parsers and readers no product code needs."""
