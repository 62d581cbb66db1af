# tests/mutants/ — kept mutants: small patches that each break one promise
# of the product, and name the test that must fail with it (header of each
# .patch). `make mutants` builds an unmutated copy of the tree under
# build/mutants/, checks every named test passes there, then applies each
# patch to its own copy and runs only its test; it fails unless every
# mutant is caught ("mutants: N of N caught"). MUTANTS="a b" runs a few.
mutants:
	tests/mutants/run.sh $(MUTANTS)

.PHONY: mutants
