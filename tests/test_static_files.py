"""The production static-files step: collectstatic with the manifest storage must succeed, or
a deploy fails (a vendored file naming a missing source map broke it once)."""

from __future__ import annotations

import io

from django.core.management import call_command


def test_collectstatic_with_the_manifest_storage_succeeds(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}}
    out = io.StringIO()

    call_command("collectstatic", "--noinput", stdout=out)

    assert "post-processed" in out.getvalue()
    manifest = (tmp_path / "staticfiles.json").read_text()
    for path in ("vendor/chartjs/chart.umd.min.js", "js/charts.js", "css/app.css"):
        assert path in manifest
