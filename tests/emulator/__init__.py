"""Tests of the local deepset Cloud emulator."""
