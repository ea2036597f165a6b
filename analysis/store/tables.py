"""The tables.  The sweep's in Parquet: typed columns (text as dictionaries,
``n`` as int64, the errors as float64 with null where not applicable,
``sums_to_one`` as a nullable bool), compressed, read directly by pandas,
polars, DuckDB and pyarrow.  The critical gaps, a few dozen rows, in CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .schema import BLOCK, COLUMNS, GSTAR_COLUMNS, TEXT_COLUMNS

SCHEMA = pa.schema(
    [(name, pa.dictionary(pa.int32(), pa.string())) if name in TEXT_COLUMNS
     else (name, pa.int64()) if name == "n"
     else (name, pa.bool_()) if name == "sums_to_one"
     else (name, pa.float64()) for name in COLUMNS]
)  # fmt: skip


def _dictionary(values: list[str]) -> pa.DictionaryArray:
    uniques = sorted(set(values))
    index = {v: i for i, v in enumerate(uniques)}
    codes = np.fromiter(map(index.__getitem__, values), np.int32, len(values))
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(uniques, pa.string()))


def sweep_parquet(blocks: dict[tuple, dict]) -> bytes:
    """sweep.parquet from the chunks' blocks, in (family, function, method,
    dtype, n) order, each block already sorted by (offset, gap, scale, draw)."""
    order = sorted(blocks)
    parts = [blocks[k] for k in order]
    sizes = [len(p["grade"]) for p in parts]
    arrays = []
    for i, name in enumerate(COLUMNS):
        if name == "n":
            arrays.append(pa.array(np.repeat(np.array([k[i] for k in order], np.int64), sizes), pa.int64()))
        elif name in BLOCK:  # one value per block: codes repeated, not a string per row
            uniques = sorted({k[i] for k in order})
            codes = np.repeat(np.array([uniques.index(k[i]) for k in order], np.int32), sizes)
            arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(uniques, pa.string())))
        elif name == "grade":
            arrays.append(_dictionary([v for p in parts for v in p[name]]))
        elif name == "sums_to_one":
            arrays.append(pa.array([v for p in parts for v in p[name]], pa.bool_()))
        else:
            column = np.concatenate([p[name] for p in parts]) if parts else np.zeros(0)
            arrays.append(pa.array(column, pa.float64(), mask=np.isnan(column)))
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd", row_group_size=1 << 20)
    return out.getvalue()


def read_sweep(path: Path) -> dict:
    """sweep.parquet as numpy columns: text columns as (sorted distinct
    values, int32 codes), ``n`` int64, the numbers float64 with NaN where
    null, ``sums_to_one`` int8 (-1 where null); ValueError when the columns
    are not the sweep's or a number is damaged."""
    table = pq.read_table(path)
    if tuple(table.column_names) != COLUMNS:
        raise ValueError(f"unexpected columns {','.join(table.column_names)!r}; expected {','.join(COLUMNS)!r}")
    out = {}
    for name in COLUMNS:
        column = table.column(name)
        if name in TEXT_COLUMNS:
            column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
            if not pa.types.is_dictionary(column.type):
                column = column.dictionary_encode()
            values = np.array(column.dictionary.to_pylist(), dtype=str)
            order = np.argsort(values, kind="stable")
            remap = np.empty(len(order), np.int32)
            remap[order] = np.arange(len(order), dtype=np.int32)
            out[name] = (values[order], remap[column.indices.to_numpy(zero_copy_only=False).astype(np.int64)])
        elif name == "n":
            out[name] = column.to_numpy().astype(np.int64)
        elif name == "sums_to_one":  # 1 true, 0 false, -1 not applicable (not a softmax)
            out[name] = pc.fill_null(pc.cast(column, pa.int8()), -1).to_numpy()
        else:
            # null is "not applicable"; a NaN, or an infinity anywhere but in
            # rel_error (an overflowed logsumexp), is damage.
            damaged = pc.is_nan(column) if name == "rel_error" else pc.invert(pc.is_finite(column))
            if pc.any(damaged).as_py():
                row = pc.index(damaged, True).as_py()
                raise ValueError(f"column {name}, row {row}: {column[row].as_py()!r} is not a finite number")
            out[name] = column.fill_null(np.nan).to_numpy().astype(np.float64)
    return out


def gstar_csv(records) -> bytes:
    """gstar.csv: the critical gaps, floats as their repr (they round-trip)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(GSTAR_COLUMNS)
    for r in records:
        writer.writerow([r["n"], r["dtype"], r["entry"], repr(r["g_star_observed"]), repr(r["g_star_predicted"])])
    return out.getvalue().encode()
