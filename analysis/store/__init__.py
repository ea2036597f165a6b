"""The data folder: files written atomically, the code each artifact depends
on (derived from imports), the artifact registry and its one manifest."""
