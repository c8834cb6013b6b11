"""Places of digital help: the national open data (catalogue), communes and postcodes, opening hours, the
nearest search and what citizens read about them. Light on imports: the Rasa environment imports `communes`."""
