from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.routers import SimpleRouter

from queries.api import ConversationViewSet, QueryView
from queries.stream import query_stream, resume_stream
from ragsite.accounts import LogoutView, RefreshView, RegisterView, TokenView, signup
from ragsite.health import healthz
from retrieval.api import DocumentViewSet

# The docs page loads its script from a URL of its own (no inline script) and
# keeps one inline style block of its template.
readers = [AllowAny] if settings.API_DOCS_PUBLIC else [IsAuthenticated]
docs = csp_override({**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="schema", permission_classes=readers)
)

router = SimpleRouter()
router.register("documents", DocumentViewSet, basename="document")
router.register("conversations", ConversationViewSet, basename="conversation")

api = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("auth/token/refresh/", RefreshView.as_view(), name="token-refresh"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    path("auth/register/", RegisterView.as_view(), name="register"),
    path("query/", QueryView.as_view(), name="query"),
    path("query/stream/", query_stream, name="query-stream"),
    path("query/stream/<uuid:message_id>/", resume_stream, name="query-stream-resume"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=readers), name="schema"),
    path("docs/", docs, name="docs"),
    *router.urls,
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include(api)),
    path("", include("queries.urls")),
    path("", include("retrieval.urls")),
    path("accounts/signup/", signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
]

handler400 = "ragsite.api_errors.bad_request"
handler404 = "ragsite.api_errors.not_found"
handler500 = "ragsite.api_errors.server_error"
