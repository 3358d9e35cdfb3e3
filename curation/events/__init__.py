"""Time as a label: score curves over whole videos, the event times they predict, and how well those match the
labelled ones."""
