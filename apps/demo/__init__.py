"""`manage.py seed_demo`: a demo vendor with something of everything, for `make run`. It sits
above every domain app (it fills them all) and is imported by none."""
