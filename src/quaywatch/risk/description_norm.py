"""The goods description against the declared code, learnt from the port's own declarations.

Goods declared under a cheaper subheading at their true price look usual by value; what often
gives them away is the text: a declaration of HS 852852 (computer monitors) described as "LED
television sets". Nobody needs to label anything to see it: the port's reference traffic says
which words go with which subheading. ``DescriptionNorm`` is a naive Bayes model of the HS6
given the description's words, fitted on the reference traffic's declarations, and reports an
item (hit ``unusual:description_hs``) whose declared subheading is improbable given its
description while another is very probable, quoting the likely codes and their shares.

**The model.** A description is the set of its words (lower case, letters and digits, a plural
``s`` dropped, words of one letter ignored), keeping only words seen in ``MIN_WORD`` reference
items or more (a word the port has not seen says nothing) and telling at least ``MIN_INFO`` of
the subheading (a word found with every kind of goods alike, "in cartons", "as per invoice",
says nearly nothing and would cost the most). For a subheading ``c`` with ``N_c``
word occurrences, of which ``n_tc`` are the word ``t``, the chance of the word is shrunk toward
its port-wide share ``p_t`` by ``ALPHA`` occurrences, ``P(t|c) = (n_tc + ALPHA·p_t) / (N_c +
ALPHA)``, so that a subheading never seen with a word is not declared impossible, and a word a
subheading has only a few times counts for little. With the subheading's share of items as
prior, the posterior over every subheading the port has seen is

    log P(c | words) = log prior_c − L·log(N_c + ALPHA) + Σ_{t: n_tc > 0} log(1 + n_tc/(ALPHA·p_t))

up to a constant (``L`` words): only the subheadings that share a word with the description
need a row, the rest are a background term per ``L``, so assessing costs a few joins however
many subheadings the port has.

**When it speaks.** The declared subheading has at most ``P_DECLARED`` of the posterior while
another has ``P_LIKELY`` or more, and the declared subheading has ``MIN_ITEMS`` reference items
or more (the port knows how it is described). A description of the kind of goods only ("Fresh
fruit", "Footwear") spreads over many subheadings and stays silent; so do words never seen.

**A word of other goods.** A declarant who writes the cover's wording and the true goods' side
by side ("Frozen pangasius fillets - frozen yellowfin tuna", "Cashew kernels - milled rice")
splits the posterior between both codes, so the check above stays silent. The description
then still *names* goods the declared code is not: a word that reference traffic writes for
one other subheading in ``P_LIKELY`` of its ``MIN_USES`` uses or more, and for the declared
one in at most ``WORD_RARE`` of its items (not never: a scheme repeated during the window
leaves its words in the cover code's descriptions, a few in a hundred). The reason quotes the
word and both figures.

**The duty at stake.** Goods are declared under another subheading to pay less: where the
subheading the description reads as carries more duty than the declared one (the tariff in
use, ``domain.reference.duty_pct``, a site's own where it has one), the hit weighs
``DUTY_MORE`` more; where it carries no more, the likelier story is a clerical slip and the
hit keeps ``DUTY_NONE`` of its weight; where the tariff in use lists nothing of one code's
chapter (its rate would be the default, not a duty), the weight is left as it is and the
reason says the duty is not known. Otherwise the reason quotes both rates. (Goods declared as
others to escape a prohibition or a licence, not a duty, are left to the profiles: their hit
is weakened, not dropped.)

    norm = DescriptionNorm.fit(reference_items)
    hits = norm.hits(items)  # needs ``description``, ``hs6``, ``sequence``
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import polars as pl

from quaywatch.domain import reference
from quaywatch.features import declared
from quaywatch.risk import hits as hitframe
from quaywatch.risk.explain import Source
from quaywatch.risk.wording import Worded, chosen, worded

#: Reference items a word needs before it counts; items a subheading needs before it is judged.
MIN_WORD, MIN_ITEMS = 5, 30
#: Nats of information about the subheading a word needs to be read: the Kullback-Leibler
#: divergence of the subheadings it goes with from all items' (packing phrases and words found
#: with every kind of goods, "in cartons", "as per invoice", say nothing and cost the most).
MIN_INFO = 1.0
#: Word occurrences each subheading's word shares are shrunk toward the port-wide shares with.
ALPHA = 20.0
#: The declared subheading's posterior at or below which, with another's at or above
#: ``P_LIKELY``, the description contradicts it.
P_DECLARED, P_LIKELY = 0.01, 0.9
#: Words of a description read (a longer one is an inventory, not a description).
MAX_WORDS = 16
#: Uses a word needs before it can name other goods; the share of the declared subheading's
#: items that may use it (a past scheme's words in the cover code's descriptions).
MIN_USES, WORD_RARE = 20, 0.05
#: Shipped weight (log-odds): a modest prior, about doubling the odds at the threshold and
#: more the surer the text is, at most 1.5; ``quaywatch weights fit`` refits it locally.
WEIGHT_MIN, WEIGHT_MAX = 0.8, 1.5
#: Log-odds added where the goods the description reads as carry more duty than the declared
#: ones (the motive of a misdeclaration), and the share of the weight kept where they do not.
#: Shipped: +1.0 and a quarter, half of what a calibration run of generated traffic found (seed
#: 3, never the seed evaluations report: 66 % of the first were illicit, +3.8 log-odds over the
#: base rate; 1 % of the second, -1.2), the rule the norms' weights follow. Measured by leave
#: one pattern out (seed 7, 30 days; docs/evaluation.md) against the +0.5 and a half first
#: shipped: misdeclaration unseen 42 -> 43 % with the starter profiles, 25 -> 31 % without,
#: no other pattern lower by more than two consignments (the choice between the two was
#: measured on the seed evaluations report: in-sample for it). ``quaywatch weights fit``
#: refits the code locally.
DUTY_MORE, DUTY_NONE = 1.0, 0.25
CODE = "unusual:description_hs"
_CODES_SCHEMA = pl.Schema({"hs6": pl.String(), "items": pl.Int64(), "words": pl.Int64()})
_WORDS_SCHEMA = pl.Schema(
    {"word": pl.String(), "hs6": pl.String(), "gain": pl.Float64(), "n": pl.Int64()}
)


def words(description: pl.Expr) -> pl.Expr:
    """The description's distinct words as the model reads them (a list expression).

    >>> pl.select(words(pl.lit("LED television sets, in cartons"))).item().sort().to_list()
    ['carton', 'in', 'led', 'set', 'television']
    """
    found = description.str.to_lowercase().str.extract_all(r"[a-z0-9]{2,}")
    plural = pl.element().str.len_chars().gt(3) & pl.element().str.ends_with("s")
    plural = plural & ~pl.element().str.ends_with("ss")
    return found.list.eval(
        pl.when(plural).then(pl.element().str.slice(0, pl.element().str.len_chars() - 1))
        .otherwise(pl.element())
    ).list.unique().list.head(MAX_WORDS)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DescriptionNorm:
    """Which words the port's reference traffic uses for which subheading.

    ``codes``: per HS6, its reference ``items`` and word occurrences (``words``); ``words``:
    per word and HS6 it occurs with, ``gain`` = log(1 + n_tc / (ALPHA·p_t)) and ``n`` =
    n_tc (null in norms saved before the word check: it then stays silent).
    """

    codes: pl.DataFrame
    words: pl.DataFrame
    #: Made once from ``codes`` and ``words`` (assessing a batch of one consignment would
    #: otherwise spend most of its time remaking them): the words read (``vocabulary``), the
    #: subheadings judged (``judged``: ``MIN_ITEMS`` reference items or more), each
    #: subheading's log prior and log(N_c + ALPHA) (``base``), the posterior's normaliser per
    #: number of words (``background``), and the words that name one subheading's goods
    #: (``telling``: ``_naming``; None in norms saved before the word check).
    _vocabulary: pl.DataFrame = field(init=False, repr=False, compare=False)
    _judged: pl.DataFrame = field(init=False, repr=False, compare=False)
    _base: pl.DataFrame = field(init=False, repr=False, compare=False)
    _background: pl.DataFrame = field(init=False, repr=False, compare=False)
    _telling: pl.DataFrame | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        total = max(int(self.codes.get_column("items").sum()), 1)
        base = self.codes.select(
            "hs6",
            (pl.col("items") / total).log().alias("log_prior"),
            (pl.col("words") + ALPHA).log().alias("log_norm"),
        )
        telling = None
        if self.words.get_column("n").null_count() < self.words.height:
            per_word = self.words.group_by("word").agg(
                pl.col("n").sum().alias("uses"),
                pl.col("hs6").sort_by("n", "hs6", descending=[True, False]).first().alias("other"),
                pl.col("n").max().alias("top"),
            )
            telling = per_word.filter(
                (pl.col("uses") >= MIN_USES) & (pl.col("top") >= P_LIKELY * pl.col("uses"))
            )
        made = {
            "_vocabulary": self.words.select("word").unique(),
            "_judged": self.codes.filter(pl.col("items") >= MIN_ITEMS).select("hs6"),
            "_base": base,
            "_background": _background(base, pl.Series(range(1, MAX_WORDS + 1))),
            "_telling": telling,
        }
        for name, value in made.items():
            object.__setattr__(self, name, value)

    @classmethod
    def empty(cls) -> DescriptionNorm:
        """A norm that knows no description (for norms saved before it existed)."""
        return cls(pl.DataFrame(schema=_CODES_SCHEMA), pl.DataFrame(schema=_WORDS_SCHEMA))

    @classmethod
    def of(cls, codes: pl.DataFrame, words: pl.DataFrame) -> DescriptionNorm:
        """The norm of saved tables; words saved before the word check have no ``n``."""
        if "n" not in words.columns:
            words = words.with_columns(pl.lit(None, pl.Int64).alias("n"))
        return cls(codes, words.select(_WORDS_SCHEMA.names()))

    @classmethod
    def fit(cls, items: pl.DataFrame) -> DescriptionNorm:
        """Learn from reference goods items (``hs6``, ``description``; others ignored)."""
        if "description" not in items.columns:
            return cls.empty()
        rows = items.select("hs6", words(pl.col("description")).alias("word")).filter(
            pl.col("hs6").is_not_null()
        )
        codes = rows.group_by("hs6").agg(pl.len().alias("items"))
        seen = rows.explode("word").drop_nulls("word")
        vocabulary = (
            seen.group_by("word").agg(pl.len().alias("n_t")).filter(pl.col("n_t") >= MIN_WORD)
        )
        seen = seen.join(vocabulary, on="word", how="semi")
        pairs = seen.group_by("word", "hs6").agg(pl.len().alias("n"))
        prior = codes.select("hs6", (pl.col("items") / pl.col("items").sum()).alias("p"))
        given = pl.col("n") / pl.col("n").sum().over("word")
        information = (
            pairs.join(prior, on="hs6")
            .with_columns(given.alias("q"))
            .group_by("word")
            .agg((pl.col("q") * (pl.col("q") / pl.col("p")).log()).sum().alias("info"))
        )
        telling = information.filter(pl.col("info") >= MIN_INFO).select("word")
        vocabulary = vocabulary.join(telling, on="word", how="semi")
        seen = seen.join(telling, on="word", how="semi")
        pairs = pairs.join(telling, on="word", how="semi")
        total = max(seen.height, 1)
        table = (
            pairs.join(vocabulary, on="word")
            .select(
                "word",
                "hs6",
                (pl.col("n") / (ALPHA * pl.col("n_t") / total)).log1p().alias("gain"),
                "n",
            )  # fmt: skip
            .sort("word", "hs6")
        )
        per_code = seen.group_by("hs6").agg(pl.len().alias("words"))
        codes = (
            codes.join(per_code, on="hs6", how="left")
            .with_columns(pl.col("words").fill_null(0))
            .select(pl.col("hs6"), pl.col("items").cast(pl.Int64), pl.col("words").cast(pl.Int64))
            .sort("hs6")
        )
        return cls(codes, table.cast(_WORDS_SCHEMA))

    def hits(self, items: pl.DataFrame) -> pl.DataFrame:
        """``unusual:description_hs`` hits of the goods items (a hits frame, ``risk.hits``):
        descriptions that read as another subheading, or name another's goods."""
        if "description" not in items.columns or self.codes.is_empty() or items.is_empty():
            return hitframe.empty()
        rows = (
            items.select(*declared.KEY, "sequence", "hs6", "description")
            .drop_nulls(["hs6", "description"])
            .join(self._judged, on="hs6", how="semi")
        )
        if rows.is_empty():
            return hitframe.empty()
        # Both checks depend on the text and its code alone: each distinct pair is read once
        # (declarants repeat their wording), then its items take its verdict.
        pairs = rows.select("description", "hs6").unique()
        read_as = hitframe.conform(self._read_as(rows, pairs))
        # One sentence per consignment is enough: a description that reads as other goods
        # names them too, and the code counts once however many hits it has.
        naming = hitframe.conform(self._naming(rows, pairs))
        if read_as.is_empty() or naming.is_empty():
            return naming if read_as.is_empty() else read_as
        naming = naming.join(read_as.select(declared.KEY), on=list(declared.KEY), how="anti")
        return pl.concat([read_as, naming])

    def _read_as(self, rows: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
        """Items whose whole description reads as another subheading (the posterior); ``pairs``
        are the distinct descriptions and codes of ``rows``."""
        # The posterior depends on the text alone: each distinct description is read once
        # (declarants repeat their wording), then every item is looked up by its text.
        pair = ["description", "hs6"]
        known = (
            rows.select("description")
            .unique()
            .select("description", words(pl.col("description")).alias("word"))
            .explode("word")
            .join(self._vocabulary, on="word", how="semi")
        )
        if known.is_empty():
            return hitframe.empty()
        length = known.group_by("description").agg(pl.len().alias("L"))
        base, background = self._base, self._background
        gains = (
            known.join(self.words, on="word")
            .group_by("description", "hs6")
            .agg(pl.col("gain").sum())
            .join(length, on="description")
            .join(base, on="hs6")
            .with_columns((pl.col("log_prior") - pl.col("L") * pl.col("log_norm")).alias("base"))
            .with_columns((pl.col("base") + pl.col("gain")).alias("score"))
        )
        # Per text: the largest log score (for stable sums), the normaliser Σ_c exp(score_c)
        # (the background of every subheading, corrected for those its words match) and its
        # three likeliest subheadings.
        texts = (
            gains.join(background, on="L")
            .with_columns(
                pl.max_horizontal(pl.col("score").max().over("description"), "log_bg").alias("top")
            )
            .group_by("description")
            .agg(
                pl.col("L", "top").first(),
                (
                    (pl.col("log_bg") - pl.col("top")).exp().first()
                    + (
                        (pl.col("score") - pl.col("top")).exp()
                        - (pl.col("base") - pl.col("top")).exp()
                    ).sum()
                ).alias("z"),
                pl.col("hs6").sort_by("score", descending=True).head(3).alias("likely"),
                pl.col("score").sort(descending=True).head(3).alias("scores"),
            )  # fmt: skip
        )
        # The declared code's share depends on the text and the code alone: each distinct pair
        # is judged once, and only the items of the pairs it flags are looked up at the end.
        flagged = (
            pairs.join(texts, on="description")
            .join(gains.select("description", "hs6", "gain"), on=pair, how="left")
            .join(base, on="hs6")
            .with_columns(
                (
                    pl.col("log_prior")
                    - pl.col("L") * pl.col("log_norm")
                    + pl.col("gain").fill_null(0)
                )
                .sub(pl.col("top"))
                .exp()
                .truediv(pl.col("z"))
                .alias("declared_share"),
            )  # fmt: skip
            .filter(pl.col("declared_share") <= P_DECLARED)
            .with_row_index("row")
            .explode("likely", "scores")
            .filter(pl.col("likely") != pl.col("hs6"))
            .with_columns(((pl.col("scores") - pl.col("top")).exp() / pl.col("z")).alias("shares"))
            .group_by("row", maintain_order=True)
            .agg(
                pl.exclude("likely", "scores", "shares").first(),
                pl.col("likely").head(2),
                pl.col("shares").head(2),
            )
            .filter(pl.col("shares").list.first() >= P_LIKELY)
            .drop("row")
        )
        if flagged.is_empty():
            return hitframe.empty()
        flagged = rows.join(flagged, on=pair, maintain_order="left")
        flagged = _with_duty(flagged.with_columns(pl.col("likely").list.first().alias("other")))
        return flagged.select(_read_as_columns())

    def _naming(self, rows: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
        """Items whose description names a word of another subheading's goods (the module
        docstring, "A word of other goods"): per item, the word most tied to another code;
        ``pairs`` are the distinct descriptions and codes of ``rows``."""
        telling = self._telling
        if telling is None:
            return hitframe.empty()  # norms saved before the word check
        # Each distinct pair's strongest word, then its items take it.
        found = (
            pairs.lazy()
            .with_columns(words(pl.col("description")).alias("word"))
            .explode("word")
            .join(telling.lazy(), on="word")
            .filter(pl.col("other") != pl.col("hs6"))
            .join(self.words.lazy().select("word", "hs6", pl.col("n").alias("own")),
                  on=["word", "hs6"], how="left")
            .join(self.codes.lazy().select("hs6", "items"), on="hs6")
            .with_columns(pl.col("own").fill_null(0))
            .filter(pl.col("own") <= WORD_RARE * pl.col("items"))
            .collect()
        )  # fmt: skip
        if found.is_empty():
            return hitframe.empty()
        pair = ["description", "hs6"]
        strongest = _with_duty(
            found.sort(*pair, "top", "word", descending=[False, False, True, False])
            .unique(pair, keep="first", maintain_order=True)
        )  # fmt: skip
        item = [*declared.KEY, "sequence"]
        strongest = (
            rows.select(*item, *pair)
            .join(strongest, on=pair)
            .sort(item)
            .unique(item, keep="first", maintain_order=True)
        )  # fmt: skip
        return strongest.select(_naming_columns())

    def describe(self) -> dict[str, int]:
        """Sizes for the model's metadata."""
        return {"description_codes": self.codes.height, "description_words": self.words.height}


def _background(base: pl.DataFrame, lengths: pl.Series) -> pl.DataFrame:
    """Per description length ``L``, log Σ_c exp(log prior_c − L·log(N_c + ALPHA)): the
    posterior's normaliser before any word is matched."""
    grid = base.join(pl.DataFrame({"L": lengths.cast(pl.UInt32)}), how="cross").with_columns(
        (pl.col("log_prior") - pl.col("L") * pl.col("log_norm")).alias("b")
    )
    peak = pl.col("b").max()
    return grid.group_by("L").agg((peak + (pl.col("b") - peak).exp().sum().log()).alias("log_bg"))


# The hits' columns are made once, not per batch: the same for every batch, and building them
# costs more than the query itself on a batch of one consignment (filing one through the API).


@functools.cache
def _naming_columns() -> tuple[pl.Expr, ...]:
    """The hits columns of a description that names another subheading's goods
    (``DescriptionNorm._naming``)."""
    text = worded(
        'item %(item)s: the description "%(description)s" names "%(word)s", which reference '
        "traffic writes for HS %(other)s (%(top)s of its %(uses)s uses) and for the declared "
        "HS %(goods)s in %(own)s of its %(items)s items; %(duty)s",
        item="sequence", description=pl.col("description").str.slice(0, 80), word="word",
        other="other", top="top", uses="uses", goods="hs6", own="own", items="items",
        duty=_duty_words(),
    )  # fmt: skip
    return (
        *(pl.col(name) for name in declared.KEY),
        pl.lit(CODE).alias("code"),
        *text.columns(),
        _duty_weight(pl.lit(WEIGHT_MIN)).alias("weight"),
        pl.lit(Source.UNUSUAL.value).alias("source"),
    )


@functools.cache
def _read_as_columns() -> tuple[pl.Expr, ...]:
    """The hits columns of a description that reads as another subheading
    (``DescriptionNorm._read_as``)."""
    named = pl.concat_str(
        pl.lit("HS "), pl.col("likely").list.first(), pl.lit(" ("),
        _pct(pl.col("shares").list.first()), pl.lit(" %)"),
        pl.when(pl.col("likely").list.len() > 1)
        .then(pl.format(", HS {} ({} %)", pl.col("likely").list.last(),
                        _pct(pl.col("shares").list.last())))
        .otherwise(pl.lit("")),
    )  # fmt: skip
    text = worded(
        'item %(item)s: the description "%(description)s" reads as %(likely)s in reference '
        "traffic; declared HS %(goods)s (%(share)s %%); %(duty)s",
        item="sequence", description=pl.col("description").str.slice(0, 80), likely=named,
        goods="hs6", share=_pct(pl.col("declared_share")), duty=_duty_words(),
    )  # fmt: skip
    sureness = (pl.col("shares").list.first() / pl.col("declared_share").clip(1e-12)).log10()
    weight = (WEIGHT_MIN + 0.1 * (sureness - 2)).clip(WEIGHT_MIN, WEIGHT_MAX)
    return (
        *(pl.col(name) for name in declared.KEY),
        pl.lit(CODE).alias("code"),
        *text.columns(),
        _duty_weight(weight).alias("weight"),
        pl.lit(Source.UNUSUAL.value).alias("source"),
    )


def _with_duty(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (``hs6``, the declared code; ``other``, the code the description reads as)
    with the duty rate of each (``duty_declared``, ``duty_other``, percent) from the tariff in
    use."""
    codes = pl.concat([frame.get_column("hs6"), frame.get_column("other")]).unique()
    rates = pl.DataFrame(
        {
            "code": codes,
            "rate": [reference.duty_pct(code) for code in codes],
            "known": [reference.duty_known(code) is not None for code in codes],
        },
        schema={"code": pl.String, "rate": pl.Float64, "known": pl.Boolean},
    )
    declared = rates.rename({"code": "hs6", "rate": "duty_declared", "known": "declared_known"})
    other = rates.rename({"code": "other", "rate": "duty_other", "known": "other_known"})
    return (
        frame.join(declared, on="hs6", how="left")
        .join(other, on="other", how="left")
        .with_columns((pl.col("declared_known") & pl.col("other_known")).alias("duty_known"))
        .drop("declared_known", "other_known")
    )


def _duty_weight(weight: pl.Expr) -> pl.Expr:
    """``weight`` moved by the duty at stake (the module docstring, "The duty at stake");
    unchanged where the tariff in use lists nothing of one code's chapter."""
    more = pl.col("duty_other") > pl.col("duty_declared")
    return (
        pl.when(~pl.col("duty_known"))
        .then(weight)
        .when(more)
        .then(weight + DUTY_MORE)
        .otherwise(weight * DUTY_NONE)
    )


def _duty_words() -> Worded:
    """The two duty rates, as the reason quotes them; where the tariff in use lists nothing
    of one code's chapter, that it does not know the duty at stake (no default rate quoted as
    if it were the code's)."""
    rates = worded(
        "duty %(other_rate)s %% for HS %(other)s, %(declared_rate)s %% declared",
        other_rate=_rate(pl.col("duty_other")), other="other",
        declared_rate=_rate(pl.col("duty_declared")),
    )  # fmt: skip
    unknown = worded(
        "the tariff in use lists no duty for HS %(other)s or for HS %(goods)s",
        other="other", goods="hs6",
    )  # fmt: skip
    return chosen(pl.col("duty_known"), rates, unknown)


def _rate(rate: pl.Expr) -> pl.Expr:
    """A duty rate as the tariff prints it: 14, 6.3, 0."""
    whole = rate.round(0).cast(pl.Int64).cast(pl.String)
    return pl.when(rate == rate.round(0)).then(whole).otherwise(rate.round(1).cast(pl.String))


def _pct(share: pl.Expr) -> pl.Expr:
    """A share as officers read it: percent to one decimal, under 0.1 as "<0.1"."""
    value = (share * 100).round(1)
    return pl.when(value < 0.1).then(pl.lit("<0.1")).otherwise(value.cast(pl.String))
