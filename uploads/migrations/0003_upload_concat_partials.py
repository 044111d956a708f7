import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("uploads", "0002_upload_guest_name_upload_guest_visitor_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="upload",
            name="concat",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Whole file"),
                    ("partial", "tus partial upload (bytes only, never a photo on its own)"),
                    ("final", "tus final upload (its partial uploads, joined)"),
                ],
                default="",
                max_length=7,
            ),
        ),
        migrations.AddField(
            model_name="upload",
            name="parts",
            field=models.JSONField(
                blank=True, default=list, help_text="A final tus upload: its partial uploads, in order."
            ),
        ),
        migrations.AlterField(
            model_name="upload",
            name="gallery",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="uploads",
                to="galleries.gallery",
            ),
        ),
    ]
