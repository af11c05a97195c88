"""Each message carries its conversation's owner, for the limits' indexed reads."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def copy_owners(apps, schema_editor) -> None:
    Message = apps.get_model("queries", "Message")
    Conversation = apps.get_model("queries", "Conversation")
    owner = Conversation.objects.filter(pk=models.OuterRef("conversation_id")).values("owner_id")
    Message.objects.update(owner_id=models.Subquery(owner[:1]))


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("queries", "0003_answering_until"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(copy_owners, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="message",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["owner", "role", "created"], name="message_asked"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(answering_until__isnull=False),
                fields=["owner", "answering_until"],
                name="message_answering",
            ),
        ),
    ]
