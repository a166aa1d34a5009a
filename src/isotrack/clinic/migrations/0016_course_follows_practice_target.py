# A course's target may now be none: the practice's, which the practice's settings change. A course whose
# target equals its practice's was entered with the practice's value (the enrollment form offered it): it
# now follows the practice; a course with a target of its own keeps it. Nothing a course is judged with
# changes by this migration.

from django.db import migrations, models
from django.db.models import F


def follow_the_practice(apps, schema_editor):
    Course = apps.get_model("clinic", "Course")
    Course.objects.filter(target_mg_per_kg=F("patient__practice__target_mg_per_kg")).update(target_mg_per_kg=None)


def keep_own_targets(apps, schema_editor):
    Course = apps.get_model("clinic", "Course")
    Practice = apps.get_model("clinic", "Practice")
    for practice_id, target in Practice.objects.values_list("id", "target_mg_per_kg"):
        Course.objects.filter(patient__practice_id=practice_id, target_mg_per_kg__isnull=True).update(
            target_mg_per_kg=target
        )


class Migration(migrations.Migration):

    dependencies = [
        ("clinic", "0015_practice_two_factor"),
    ]

    operations = [
        migrations.AlterField(
            model_name="course",
            name="target_mg_per_kg",
            field=models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True),
        ),
        migrations.RunPython(follow_the_practice, keep_own_targets),
    ]
