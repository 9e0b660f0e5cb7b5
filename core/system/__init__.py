"""What CV Lens needs from the machine it runs on: safe file access, its folders, its versions.

``files`` reads only regular files (bounded) and writes atomically; ``paths`` names the user's data
folder; ``about`` reports the versions of CV Lens and of the libraries it runs on.
"""
