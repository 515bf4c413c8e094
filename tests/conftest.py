from theory.testing import load_profile

# ICLVERIFY_HYPOTHESIS_PROFILE=thorough for the long run; `ci` (fast, derandomized) by default.
load_profile()
