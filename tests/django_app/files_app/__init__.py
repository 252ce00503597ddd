"""The Django app of the test project: views that upload texts to and list files of deepset Cloud."""
