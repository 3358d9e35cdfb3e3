"""Review signals as functions over arrays and frames, with no workspace in sight (as cleanlab and fiftyone-brain
expose theirs): `labels` (AUM per label, confident learning, relabel targets), `duplicates` (near-duplicates and
leaks by descriptors), `outliers` (videos unlike the rest), `timing` (labelled times a score curve puts
elsewhere, as retimes). `curation.review.evidence` reads their inputs from a workspace; `curation.review.suggest`
calls them and merges what they find."""
