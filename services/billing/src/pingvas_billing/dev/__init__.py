"""Stand-ins and samples for the local run and the tests only; the service never imports
them."""
