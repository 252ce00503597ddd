"""URL routes of the test Django project."""

from __future__ import annotations

from django.urls import path

from .files_app import views

urlpatterns = [
    path("files/upload-texts", views.upload_texts, name="upload-texts"),
    path("files", views.list_files, name="list-files"),
]
