"""Calendar feeds end: each has an expiry, and its last use is kept. A feed made before gets the default life
from this upgrade on (settings.FEED_TOKEN_DAYS), so that no patient's calendar stops at the upgrade itself."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def give_a_life(apps, schema_editor):
    FeedToken = apps.get_model("notify", "FeedToken")
    FeedToken.objects.filter(expires_at__isnull=True).update(
        expires_at=timezone.now() + timedelta(days=settings.FEED_TOKEN_DAYS)
    )


class Migration(migrations.Migration):
    dependencies = [("notify", "0001_initial")]

    operations = [
        migrations.AddField(model_name="feedtoken", name="expires_at", field=models.DateTimeField(null=True)),
        migrations.AddField(
            model_name="feedtoken", name="last_used_at", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.RunPython(give_a_life, migrations.RunPython.noop),
        migrations.AlterField(model_name="feedtoken", name="expires_at", field=models.DateTimeField()),
    ]
