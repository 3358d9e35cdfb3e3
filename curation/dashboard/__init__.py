"""`curate dashboard`: the offline counterpart of the 3LC Dashboard — a JSON API over the library (api.py) for a
page in the browser."""
