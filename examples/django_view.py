"""A Django view that stores an uploaded note in deepset Cloud with the sync API.

Copy `upload_note` into your app's views.py. Run this file to try it with Django's test client:
python examples/django_view.py    (needs `pip install django` and API_KEY, API_URL, DEFAULT_WORKSPACE_NAME)
"""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from deepset_cloud import DeepsetCloudError, DeepsetCloudFile, WriteMode
from deepset_cloud.sync_client import files


@require_POST
def upload_note(request: HttpRequest) -> JsonResponse:
    """POST name=...&text=...: store the note, replacing one of the same name."""
    note = DeepsetCloudFile(text=request.POST["text"], name=request.POST["name"], meta={"source": "django"})
    try:
        # Safe in sync views under WSGI and ASGI: all calls share one event-loop thread.
        report = files.upload_texts(files=[note], write_mode=WriteMode.OVERWRITE, show_progress=False)
    except DeepsetCloudError as error:
        return JsonResponse({"error": str(error)}, status=502)
    return JsonResponse({"uploaded": report.successful_upload_count, "failed": report.failed_upload_count})


if __name__ == "__main__":
    import django
    from django.conf import settings
    from django.test import Client
    from django.urls import path

    settings.configure(ROOT_URLCONF=__name__, ALLOWED_HOSTS=["testserver"], MIDDLEWARE=[])
    urlpatterns = [path("notes/", upload_note)]
    django.setup()
    response = Client().post("/notes/", {"name": "from-django.txt", "text": "Stored by a Django view."})
    print(response.status_code, response.json())
