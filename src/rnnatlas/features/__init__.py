"""Features of trained networks: trajectory geometry, Ready-Set-Go neural features, topological
features A–E (study S), and the solution classes of the 2-D continuous-time RNN."""
