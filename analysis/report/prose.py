"""The report's fixed text that is not a template's: its title, the works it
cites, the formulas (LaTeX, rendered as MathML) and the names of the paper's
algorithm and theorem.  Labels, not results."""

from __future__ import annotations

TITLE = "Where softmax breaks in floating point"
PAPER = {"alg41": "Algorithm 4.1", "alg41_number": "4.1", "thm42": "Theorem 4.2"}

REFERENCES = {
    "bhh": {
        "key": "bhh",
        "label": "Blanchard, Higham & Higham 2021",
        "authors": "P. Blanchard, D. J. Higham and N. J. Higham",
        "title": "Accurately computing the log-sum-exp and softmax functions",
        "venue": "IMA Journal of Numerical Analysis 41(4), 2311–2330",
        "year": "2021",
        "doi": "10.1093/imanum/draa038",
    },
    "gbc": {
        "key": "gbc",
        "label": "Goodfellow, Bengio & Courville 2016",
        "authors": "I. Goodfellow, Y. Bengio and A. Courville",
        "title": "Deep Learning",
        "venue": "MIT Press, §4.1 (overflow and underflow) and §6.2.2.3 (softmax units)",
        "year": "2016",
        "doi": "",
    },
    "herbie": {
        "key": "herbie",
        "label": "Panchekha et al. 2015",
        "authors": "P. Panchekha, A. Sanchez-Stern, J. R. Wilcox and Z. Tatlock",
        "title": "Automatically improving accuracy for floating point expressions",
        "venue": "PLDI 2015, §3 (bits of error)",
        "year": "2015",
        "doi": "10.1145/2737924.2737959",
    },
    "ziv": {
        "key": "ziv",
        "label": "Ziv 1991",
        "authors": "A. Ziv",
        "title": "Fast evaluation of elementary mathematical functions with correctly rounded last bit",
        "venue": "ACM Transactions on Mathematical Software 17(3), 410–423",
        "year": "1991",
        "doi": "10.1145/114697.116813",
    },
    "higham": {
        "key": "higham",
        "label": "Higham 2002",
        "authors": "N. J. Higham",
        "title": "Accuracy and Stability of Numerical Algorithms",
        "venue": "2nd ed., SIAM, ch. 4 (summation)",
        "year": "2002",
        "doi": "10.1137/1.9780898718027",
    },
    "milakov": {
        "key": "milakov",
        "label": "Milakov & Gimelshein 2018",
        "authors": "M. Milakov and N. Gimelshein",
        "title": "Online normalizer calculation for softmax",
        "venue": "arXiv:1805.02867",
        "year": "2018",
        "doi": "10.48550/arXiv.1805.02867",
    },
}

# The glossary: term key -> (label, definition).  Plain language for a reader
# who trains models; the templates link a term's first use to its entry.
GLOSSARY = {
    "logit": ("logit", "A score z_i before the softmax; the softmax turns a vector of logits into probabilities."),
    "ln-max": ("ln max", "The natural logarithm of the largest finite number of a format: e^z overflows to "
               "infinity (or, without infinity, to NaN) once z is above it."),
    "max-shift": ("max shift", "Subtracting m = max_j z_j from every logit before exponentiating. It does not "
                  "change softmax(z); it makes every exponent at most 0, so nothing overflows."),
    "two-level": ("two-level vector", "The test vector z = (c, c − g, …, c − g) of length n: one entry at the "
                  "offset c and n − 1 entries a gap g below it. c drives overflow, g the underflow of the "
                  "small terms."),
    "spurious-zero": ("spurious 0", "An output that is exactly 0 although the true value, rounded to the format, "
                      "is not 0: a probability or loss lost to underflow."),
    "ulp": ("ULP", "Unit in the last place: the gap between a floating-point number and the next one. An error "
            "of k ULPs means k representable numbers between the result and the correctly rounded value."),
    "bits": ("bits of error", "log2(1 + ULPs), as in Herbie: 0 bits is correctly rounded, p bits (the format's "
             "precision) means no correct significant bit."),
    "binade": ("binade", "The numbers of a format between two consecutive powers of two, [2^e, 2^(e+1)); "
               "inside one binade the ULP is constant."),
    "unit-roundoff": ("unit roundoff", "u = 2^−p for a format with p significant bits: the largest relative "
                      "error of one correctly rounded operation."),
    "subnormal": ("subnormal", "The numbers below the smallest normal number, with fewer significant bits; they "
                  "fill the gap down to the smallest positive number s, called “tiny” in the figures. "
                  "e^z rounds to 0 once z ≤ ln(s/2)."),
    "symlog": ("symlog", "A symmetric logarithmic axis: linear near 0 and logarithmic beyond, so that negative "
               "values, zero and several decades fit on one axis."),
    "normwise": ("normwise error", "The error of a whole vector, max_i |ŷ_i − y_i| / max_i |y_i|, as the "
                 "published bounds measure it; the componentwise error divides each entry by its own |y_i|."),
    "gamma": ("γ_k", "γ_k = k u / (1 − k u): the factor that bounds the rounding error of a sum of k + 1 "
              "terms added one after the other (Higham 2002, §3.1); γ_{n−1} appears in the bounds for n logits."),
    "ziv": ("Ziv's strategy", "Evaluate with some extra precision; when the rounded result is not yet certain, "
            "double the precision and retry, until it is. It makes the ground truth provably correctly rounded."),
    "theorems": ("Theorem 4.2, Algorithm 4.1", "Numbers of theorems and algorithms refer to Blanchard, Higham & "
                 "Higham 2021: Algorithm 4.1 is their shifted logsumexp with log1p, Theorem 4.2 its error bound."),
}

FORMULAS = {
    "softmax": r"\mathrm{softmax}(z)_i = \frac{e^{z_i}}{\sum_{j=1}^{n} e^{z_j}}",
    "std_norm": r"\mathrm{std\_norm}(z)_i = \frac{z_i}{\sum_{j=1}^{n} z_j}",
    "lse": r"\mathrm{lse}(z) = \log \sum_{j=1}^{n} e^{z_j}",
    "log_softmax": r"\log \mathrm{softmax}(z)_i = z_i - \mathrm{lse}(z)",
    "max": r"m = \max_{j} z_j",
    "softmax_shifted": r"\mathrm{softmax}(z)_i = \frac{e^{z_i - m}}{\sum_{j=1}^{n} e^{z_j - m}}",
    "lse_shifted": r"\mathrm{lse}(z) = m + \log \sum_{j=1}^{n} e^{z_j - m}",
    "log_softmax_shifted": r"\log \mathrm{softmax}(z)_i = (z_i - m) - \log \sum_{j=1}^{n} e^{z_j - m}",
    "max_approx": r"\log \mathrm{softmax}(z)_i \approx z_i - m, \quad 0 \le \mathrm{lse}(z) - m \le \log n",
    "two_level": r"z = (c,\ c-g,\ \ldots,\ c-g) \in \mathbb{R}^{n}",
    "scaled_normal": r"z = s\,x, \quad x_j \text{ independent standard normal}",
    "bits": r"\mathrm{bits}(\hat y, y) = \log_2\bigl(1 + \mathrm{ulps}(\hat y, y)\bigr)",
    "overflow": r"e^{c} > \max \iff c > \ln \max",
    "u": r"u = 2^{-p}",
    "max_error_two_level": r"L(g) = \mathrm{lse}(z) - \max_j z_j = \log\bigl(1 + (n-1)\,e^{-g}\bigr) \quad "
    r"\text{for } z = (0,\ -g,\ \ldots,\ -g)",
    "gstar_top": r"\mathrm{fl}(-L(g)) = 0 \iff L(g) < \tfrac{s}{2} \iff g > g^*_{\mathrm{top}} = "
    r"\log(n-1) - \log\bigl(e^{s/2} - 1\bigr)",
    "gstar_rest": r"\mathrm{fl}(-g - L(g)) = -g \iff L(g) < \tfrac{1}{2}\,\mathrm{ulp}(g) \approx u\,g",
    "cross_entropy": r"\ell(z, y) = -\log \mathrm{softmax}(z)_y, \qquad \nabla_z \ell = \mathrm{softmax}(z) - e_y, "
    r"\qquad z = (m,\ 0,\ \ldots,\ 0),\ y = 1",
}

