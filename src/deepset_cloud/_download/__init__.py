"""Downloading files and their meta into a folder."""
