"""Indicators for the network's steering committee (issue 12): aggregates only, from what Passerelle already keeps."""
