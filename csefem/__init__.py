"""``python -m csefem``: the command line (:mod:`studies.cli`) under the project's name."""
