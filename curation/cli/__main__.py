"""`python -m curation.cli`: the console script."""
from curation.cli import main

main()
