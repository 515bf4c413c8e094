"""The sources every bound cites. Keys match docs/references.bib."""

from theory.bound import Citation


def cite(key: str, locator: str) -> Citation:
    """A citation of one of our sources at a theorem, corollary or equation."""
    return Citation(key, REFERENCES[key], locator)


REFERENCES: dict[str, str] = {
    "sharma2025": "A. Sharma, Eliciting Fine-Tuned Transformer Capabilities via Inference-Time Techniques, "
    "arXiv:2506.08060, 2025",
    "hoeffding1963": "W. Hoeffding, Probability inequalities for sums of bounded random variables, "
    "J. Amer. Statist. Assoc. 58(301):13-30, 1963",
    "weissman2003": "T. Weissman, E. Ordentlich, G. Seroussi, S. Verdu, M. J. Weinberger, Inequalities for the "
    "L1 deviation of the empirical distribution, HP Labs Tech. Rep. HPL-2003-97, 2003",
    "canonne2020": "C. L. Canonne, A short note on learning discrete distributions, arXiv:2002.11457, 2020",
    "massart1990": "P. Massart, The tight constant in the Dvoretzky-Kiefer-Wolfowitz inequality, "
    "Ann. Probab. 18(3):1269-1283, 1990",
    "ssbd2014": "S. Shalev-Shwartz and S. Ben-David, Understanding Machine Learning: From Theory to Algorithms, "
    "Cambridge University Press, 2014",
    "blumer1989": "A. Blumer, A. Ehrenfeucht, D. Haussler, M. K. Warmuth, Learnability and the "
    "Vapnik-Chervonenkis dimension, J. ACM 36(4):929-965, 1989",
    "ehrenfeucht1989": "A. Ehrenfeucht, D. Haussler, M. Kearns, L. Valiant, A general lower bound on the number "
    "of examples needed for learning, Information and Computation 82(3):247-261, 1989",
    "hanneke2016": "S. Hanneke, The optimal sample complexity of PAC learning, J. Mach. Learn. Res. 17(38):1-15, 2016",
    "mitzenmacher2017": "M. Mitzenmacher and E. Upfal, Probability and Computing, 2nd ed., Cambridge University "
    "Press, 2017",
}
