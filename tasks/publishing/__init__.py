"""Release building: every file of a release is written by a *writer* from one BuildContext."""
