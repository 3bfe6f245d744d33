"""``python -m csefem ...`` runs ``csefem ...`` (:func:`studies.cli.main`)."""

from studies.cli import main

if __name__ == "__main__":
    main()
