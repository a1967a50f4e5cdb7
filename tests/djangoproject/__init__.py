"""A small Django project for the tests of resque.contrib.django."""
