"""The sources every bound cites, as BibTeX records; docs/references.bib is generated from them.

`REFERENCES[key]` is the one-line form a `Citation` carries (authors, title, venue, year), built from the record.
"""

from __future__ import annotations

from theory.bound import Citation

# key -> (entry type, fields). Field values are plain text (BibTeX escapes added when the .bib is written).
SOURCES: dict[str, tuple[str, dict[str, str]]] = {
    "sharma2025": (
        "misc",
        {
            "author": "Sharma, Asankhaya",
            "title": "Eliciting Fine-Tuned Transformer Capabilities via Inference-Time Techniques",
            "year": "2025",
            "eprint": "2506.08060",
            "archiveprefix": "arXiv",
            "primaryclass": "cs.LG",
        },
    ),
    "hoeffding1963": (
        "article",
        {
            "author": "Hoeffding, Wassily",
            "title": "Probability Inequalities for Sums of Bounded Random Variables",
            "journal": "Journal of the American Statistical Association",
            "volume": "58",
            "number": "301",
            "pages": "13--30",
            "year": "1963",
            "doi": "10.1080/01621459.1963.10500830",
        },
    ),
    "weissman2003": (
        "techreport",
        {
            "author": "Weissman, Tsachy and Ordentlich, Erik and Seroussi, Gadiel and Verdú, Sergio and "
            "Weinberger, Marcelo J.",
            "title": "Inequalities for the L1 Deviation of the Empirical Distribution",
            "institution": "Hewlett-Packard Laboratories",
            "number": "HPL-2003-97",
            "year": "2003",
        },
    ),
    "canonne2020": (
        "misc",
        {
            "author": "Canonne, Clément L.",
            "title": "A short note on learning discrete distributions",
            "year": "2020",
            "eprint": "2002.11457",
            "archiveprefix": "arXiv",
        },
    ),
    "massart1990": (
        "article",
        {
            "author": "Massart, Pascal",
            "title": "The Tight Constant in the Dvoretzky-Kiefer-Wolfowitz Inequality",
            "journal": "The Annals of Probability",
            "volume": "18",
            "number": "3",
            "pages": "1269--1283",
            "year": "1990",
            "doi": "10.1214/aop/1176990746",
        },
    ),
    "ssbd2014": (
        "book",
        {
            "author": "Shalev-Shwartz, Shai and Ben-David, Shai",
            "title": "Understanding Machine Learning: From Theory to Algorithms",
            "publisher": "Cambridge University Press",
            "year": "2014",
            "doi": "10.1017/CBO9781107298019",
        },
    ),
    "blumer1989": (
        "article",
        {
            "author": "Blumer, Anselm and Ehrenfeucht, Andrzej and Haussler, David and Warmuth, Manfred K.",
            "title": "Learnability and the Vapnik-Chervonenkis Dimension",
            "journal": "Journal of the ACM",
            "volume": "36",
            "number": "4",
            "pages": "929--965",
            "year": "1989",
            "doi": "10.1145/76359.76371",
        },
    ),
    "ehrenfeucht1989": (
        "article",
        {
            "author": "Ehrenfeucht, Andrzej and Haussler, David and Kearns, Michael and Valiant, Leslie",
            "title": "A General Lower Bound on the Number of Examples Needed for Learning",
            "journal": "Information and Computation",
            "volume": "82",
            "number": "3",
            "pages": "247--261",
            "year": "1989",
            "doi": "10.1016/0890-5401(89)90002-3",
        },
    ),
    "hanneke2016": (
        "article",
        {
            "author": "Hanneke, Steve",
            "title": "The Optimal Sample Complexity of PAC Learning",
            "journal": "Journal of Machine Learning Research",
            "volume": "17",
            "number": "38",
            "pages": "1--15",
            "year": "2016",
        },
    ),
    "mitzenmacher2017": (
        "book",
        {
            "author": "Mitzenmacher, Michael and Upfal, Eli",
            "title": "Probability and Computing: Randomization and Probabilistic Techniques in Algorithms and Data "
            "Analysis",
            "edition": "2nd",
            "publisher": "Cambridge University Press",
            "year": "2017",
        },
    ),
    "tsybakov2009": (
        "book",
        {
            "author": "Tsybakov, Alexandre B.",
            "title": "Introduction to Nonparametric Estimation",
            "publisher": "Springer",
            "series": "Springer Series in Statistics",
            "year": "2009",
            "doi": "10.1007/b13794",
        },
    ),
}


def _authors(field: str) -> str:
    """'Hoeffding, Wassily and Upfal, Eli' -> 'W. Hoeffding and E. Upfal' (three or more: commas, 'and')."""
    names = []
    for person in field.split(" and "):
        last, _, first = person.partition(", ")
        initials = " ".join(f"{p[0]}." for p in first.replace("-", " ").split() if not p.endswith("."))
        initials += "".join(f" {p}" for p in first.split() if p.endswith("."))
        names.append(f"{initials.strip()} {last}".strip())
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _venue(kind: str, f: dict[str, str]) -> str:
    if "eprint" in f:
        return f"arXiv:{f['eprint']}"
    if kind == "article":
        pages = f.get("pages", "").replace("--", "-")
        issue = f"({f['number']})" if "number" in f else ""
        return f"{f['journal']} {f['volume']}{issue}:{pages}"
    if kind == "techreport":
        return f"{f['institution']} Tech. Rep. {f['number']}"
    edition = f"{f['edition']} ed., " if "edition" in f else ""
    return f"{edition}{f['publisher']}"


REFERENCES: dict[str, str] = {
    key: f"{_authors(f['author'])}, {f['title']}, {_venue(kind, f)}, {f['year']}" for key, (kind, f) in SOURCES.items()
}


ESCAPES = {"é": "{\\'e}", "ú": "{\\'u}"}  # plain BibTeX is not UTF-8 safe


def bibtex() -> str:
    """docs/references.bib: every source, keys as cited by the bounds."""
    out = []
    for key, (kind, fields) in SOURCES.items():
        body = ",\n".join(f"  {name} = {{{_escape(value)}}}" for name, value in fields.items())
        out.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(out)


def _escape(text: str) -> str:
    for char, tex in ESCAPES.items():
        text = text.replace(char, tex)
    return text


def cite(key: str, locator: str) -> Citation:
    """A citation of one of our sources at a theorem, corollary or equation."""
    return Citation(key, REFERENCES[key], locator)
