"""docgen performance benchmark.

    python benchmarks/run.py                 # 1,000 persons
    python benchmarks/run.py --large         # 10,000 persons (monthly set, incremental, watch on D + monthly set; --full adds the full build)
    python benchmarks/run.py --people 300    # any size

Generates a synthetic province (13 cities, stations per city, N persons with valid
records) into a temporary workspace and reports:

* full build (every form, PDF): documents/s, pages/s, KiB per page
* the monthly set (the month's unit and institution tables, rosters and statistics)
* ms per one-page form (in one process, fonts loaded)
* peak memory (this process and the worker processes)
* incremental rebuild after changing one record
* watch latency: save a record → the person's new PDF in place (``docgen watch``)
* with LibreOffice installed: the docxtpl + ``soffice`` DOCX→PDF path on the same forms
  in the same run, and the ratio
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from synth import make_province  # noqa: E402

MONTH = "2026-11"


def log(text: str = "") -> None:
    print(text, flush=True)


def kib(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


def peak_rss_mib() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return me, kids


def load(ws, out: Path | None = None, refresh: bool = False):
    """The records as ``docgen build --out OUT`` loads them (with the output folder's parse
    cache, ``refresh``: parsing every file anew); without ``out`` without the cache."""
    from docgen.records.cache import CACHE_NAME, load_records_cached
    from docgen.records.load import load_records

    if out is None:
        ds = load_records([ws.records], base=ws.root)
    else:
        ds = load_records_cached([ws.records], ws.root, out / CACHE_NAME, refresh=refresh)
    ds.workspace = ws
    return ds


def timed_build(ds, forms, out: Path, period, **kw):
    from docgen.build import build

    t = time.perf_counter()
    result = build(ds, forms, out, period, {"pdf"}, **kw)
    return time.perf_counter() - t, result


def one_page_forms(ds, period, forms) -> dict:
    """Per-person forms whose first document is one page: {code: (form, target)}."""
    from docgen.build import count_pages

    out = {}
    for form in forms:
        if form.scope != "person" or form.periodic:
            continue
        try:
            target = next(iter(form.targets(ds, period)), None)
        except Exception:
            continue
        if target is None:
            continue
        try:
            pdf = form.render_pdf(target.view, target.context)
        except Exception:
            continue
        if count_pages(pdf) == 1:
            out[form.code] = (form, target, len(pdf))
    return out


def ms_per_form(samples: dict, repeat: int) -> dict[str, float]:
    res = {}
    for code, (form, target, _) in samples.items():
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            form.render_pdf(target.view, target.context)
            times.append((time.perf_counter() - t) * 1000)
        res[code] = statistics.median(times)
    return res


def soffice_path(samples: dict, work: Path, batch: int) -> dict | None:
    """docxtpl + LibreOffice on the same forms: per document with one soffice call each,
    and per document in one batch call (start-up shared)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    profile = work / "lo-profile"
    env = {**os.environ, "HOME": str(work)}
    base = [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
            "--convert-to", "pdf"]
    # first start creates the profile: not timed
    subprocess.run(base + ["--outdir", str(work / "warm"), "/dev/null"], capture_output=True, env=env, timeout=300)
    single, batched, fill = {}, {}, {}
    for code, (form, target, _) in samples.items():
        d = work / f"lo-{code}"
        d.mkdir()
        t = time.perf_counter()
        files = []
        for i in range(batch):
            p = d / f"{code}-{i}.docx"
            p.write_bytes(form.render_docx(target.view))
            files.append(p)
        fill[code] = (time.perf_counter() - t) * 1000 / batch
        t = time.perf_counter()
        r = subprocess.run(base + ["--outdir", str(d / "one"), str(files[0])], capture_output=True, env=env,
                           timeout=300)
        one = (time.perf_counter() - t) * 1000
        if r.returncode != 0 or not (d / "one" / f"{code}-0.pdf").exists():
            return {"error": r.stderr.decode(errors="replace")[-300:]}
        t = time.perf_counter()
        subprocess.run(base + ["--outdir", str(d / "batch")] + [str(f) for f in files], capture_output=True,
                       env=env, timeout=600)
        many = (time.perf_counter() - t) * 1000 / batch
        single[code] = fill[code] + one
        batched[code] = fill[code] + many
    return {"single": single, "batched": batched, "fill": fill}


def watch_latency(ws: Path, person_file: Path, pdf_glob: str, rounds: int, out: Path,
                  forms: str | None = None) -> tuple[list[float], list[float], float]:
    """Save → new PDF in place, and save → all affected documents done (log line)."""
    extra = ["--out", str(out)] + (["--forms", forms] if forms else [])
    proc = subprocess.Popen([sys.executable, "-m", "docgen", "watch", "-w", str(ws), "--format", "pdf",
                             "--month", MONTH, *extra], cwd=HERE.parent, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    started = time.perf_counter()
    try:
        while not any("就绪" in x for x in lines):
            if proc.poll() is not None or time.perf_counter() - started > 1800:
                raise RuntimeError("docgen watch did not start:\n" + "".join(lines))
            time.sleep(0.05)
        ready = time.perf_counter() - started
        [pdf] = list(out.glob(pdf_glob))
        first, whole = [], []
        text = person_file.read_text(encoding="utf-8")
        for i in range(rounds):
            time.sleep(1.0)
            before = pdf.stat().st_mtime_ns
            n_lines = len(lines)
            new = re.sub(r"联系方式: .*", f"联系方式: '0251234{5670 + i}'", text, count=1)
            t = time.perf_counter()
            tmp = person_file.with_name(f".{person_file.name}.tmp")
            tmp.write_text(new, encoding="utf-8")
            os.replace(tmp, person_file)  # an editor's save
            while pdf.stat().st_mtime_ns == before:
                if time.perf_counter() - t > 120:
                    raise RuntimeError("no new PDF:\n" + "".join(lines))
                time.sleep(0.002)
            first.append(time.perf_counter() - t)
            while not any("已更新" in x for x in lines[n_lines:]):
                if time.perf_counter() - t > 300:
                    raise RuntimeError("no update logged:\n" + "".join(lines))
                time.sleep(0.005)
            whole.append(time.perf_counter() - t)
        return first, whole, ready
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    ap = argparse.ArgumentParser(description="docgen 性能测试（合成的全省数据）")
    ap.add_argument("--people", type=int, default=None, help="照管对象人数（默认 1000）")
    ap.add_argument("--large", action="store_true", help="10,000 人（默认测月度报表集、增量生成和监视延迟，加 --full 另测全部文书）")
    ap.add_argument("--full", action="store_true", help="大规模时也测全部文书的生成")
    ap.add_argument("--workers", type=int, default=None, help="并行进程数（默认：全部 CPU 核）")
    ap.add_argument("--no-soffice", action="store_true", help="不测 LibreOffice 路径")
    ap.add_argument("--rounds", type=int, default=5, help="监视延迟测量次数")
    ap.add_argument("--keep", action="store_true", help="保留临时工作区")
    args = ap.parse_args()
    people = args.people or (10_000 if args.large else 1_000)
    full = args.full or people <= 2_000

    from docgen.build import default_workers
    from docgen.documents.base import Period
    from docgen.documents.registry import all_forms
    from docgen.render.fonts import prepare_all
    from docgen.workspace import Workspace

    workers = args.workers or default_workers()
    tmp = Path(tempfile.mkdtemp(prefix="docgen-bench-"))
    try:
        log(f"docgen 性能测试：{people} 名照管对象，13 个设区的市，期间 {MONTH}，{workers} 个进程（{os.cpu_count()} 核）")
        log(f"临时工作区：{tmp}")
        t = time.perf_counter()
        prepare_all()
        log(f"字体准备（每台机器一次，已缓存时为 0）：{time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        person_files = make_province(tmp / "ws", people, month=MONTH)
        log(f"生成合成数据：{time.perf_counter() - t:.1f} s")
        ws = Workspace.locate(tmp / "ws")
        period = Period.parse(MONTH)
        # the output of the incremental rebuild and the watch below
        inc_out = ws.output if full else tmp / "monthly"
        t = time.perf_counter()
        ds = load(ws, inc_out, refresh=True)  # a first build: every file parsed, the parse cache written
        log(f"读取并检查记录（首次，写入解析缓存）：{time.perf_counter() - t:.1f} s（{len(ds.files)} 个文件，"
            f"{len(ds.errors)} 个错误）")
        if ds.errors:
            for d in ds.errors[:5]:
                log(f"  {d}")
        forms = list(all_forms().values())
        periodic = [f for f in forms if f.periodic]
        log()

        out = ws.output
        if full:
            secs, res = timed_build(ds, forms, out, period, workers=workers)
            n = res.rendered
            log(f"全部文书（全部表单，PDF）：{n} 份，{res.pages} 页，用时 {secs:.1f} s")
            log(f"  文书/秒：{n / secs:.1f}    页/秒：{res.pages / secs:.1f}")
            log(f"  每页大小：{kib(res.bytes_pdf / max(res.pages, 1))}（共 {res.bytes_pdf / 2**20:.1f} MiB）")
            if res.errors:
                log(f"  错误：{len(res.errors)} 个，例如：{res.errors[0]}")
        secs, res = timed_build(ds, periodic, tmp / "monthly", period, workers=workers, force=True)
        log(f"月度报表集（{'、'.join(f.code for f in periodic)}）：{res.rendered} 份，{res.pages} 页，用时 {secs:.1f} s"
            f"（{res.rendered / secs:.1f} 份/秒，{res.pages / secs:.1f} 页/秒，每页 {kib(res.bytes_pdf / max(res.pages, 1))}）")
        out = inc_out

        samples = one_page_forms(ds, period, forms)
        ms = ms_per_form(samples, repeat=15)
        log()
        log("单页表单（单进程，字体已载入）：")
        for code, (form, _, size) in samples.items():
            log(f"  {code} {form.name}：{ms[code]:.1f} ms/份，{kib(size)}/页")
        med = statistics.median(ms.values()) if ms else float("nan")
        log(f"  中位数：{med:.1f} ms/份；每页大小中位数 {kib(statistics.median(s for _, _, s in samples.values()))}")
        me, kids = peak_rss_mib()
        log(f"内存峰值：本进程 {me:.0f} MiB，单个工作进程最多 {kids:.0f} MiB")

        # incremental rebuild after one changed record (what a clerk's save costs in a batch run)
        victim = person_files[len(person_files) // 2]
        victim.write_text(re.sub(r"联系方式: .*", "联系方式: '02587654321'", victim.read_text(encoding="utf-8"),
                                 count=1), encoding="utf-8")
        t = time.perf_counter()
        load(ws)
        plain_s = time.perf_counter() - t
        t = time.perf_counter()
        ds2 = load(ws, out)  # as docgen build does: unchanged files from the output folder's parse cache
        load_s = time.perf_counter() - t
        secs, res = timed_build(ds2, forms if full else periodic, out, period, workers=workers)
        log()
        log(f"改动一条记录后的增量生成：{load_s + secs:.2f} s（读取记录 {load_s:.2f} s，生成 {secs:.2f} s："
            f"重新生成 {res.rendered} 份，跳过 {res.skipped} 份）")
        log(f"  读取记录不用解析缓存时：{plain_s:.2f} s（增量生成共 {plain_s + secs:.2f} s）")

        # watch latency: on the whole output, or (large runs) on the monthly set plus every
        # person's D, which the service makes while it catches up
        pid = victim.stem
        if full:
            first, whole, ready = watch_latency(ws.root, victim, f"D/{pid}-*.pdf", args.rounds, out=ws.output)
        else:
            first, whole, ready = watch_latency(ws.root, victim, f"D/{pid}-*.pdf", args.rounds, out=out,
                                                forms=",".join(["D"] + [f.code for f in periodic]))
        what = "" if full else f"（D 与月度报表集；启动时先生成 {people} 份 D）"
        log(f"监视服务启动（含追平）{what}：{ready:.1f} s")
        log(f"监视延迟（保存 → 此人的新 PDF 就位）：中位数 {statistics.median(first) * 1000:.0f} ms"
            f"（{', '.join(f'{x * 1000:.0f}' for x in first)} ms）")
        log(f"监视延迟（保存 → 受影响的全部文书就位）：中位数 {statistics.median(whole) * 1000:.0f} ms"
            f"（{', '.join(f'{x * 1000:.0f}' for x in whole)} ms）")

        if args.no_soffice:
            log("LibreOffice 路径：未测（--no-soffice）")
        else:
            lo = soffice_path(samples, tmp, batch=10)
            log()
            if lo is None:
                log("LibreOffice 路径：未安装 soffice，未测")
            elif "error" in lo:
                log(f"LibreOffice 路径：转换失败：{lo['error']}")
            else:
                log("docxtpl + LibreOffice（DOCX→PDF），同样的表单：")
                for code in lo["single"]:
                    log(f"  {code}：填表 {lo['fill'][code]:.0f} ms + 转换；每份单独转换 {lo['single'][code]:.0f} ms/份"
                        f"（docgen 快 {lo['single'][code] / ms[code]:.0f} 倍）；10 份一批 {lo['batched'][code]:.0f} ms/份"
                        f"（docgen 快 {lo['batched'][code] / ms[code]:.0f} 倍）")
                s_med = statistics.median(lo["single"].values())
                b_med = statistics.median(lo["batched"].values())
                log(f"  中位数：每份单独转换 {s_med:.0f} ms/份，比 docgen 慢 {s_med / med:.0f} 倍；"
                    f"成批转换 {b_med:.0f} ms/份，慢 {b_med / med:.0f} 倍")
        me, kids = peak_rss_mib()
        log(f"内存峰值（全部结束时）：本进程 {me:.0f} MiB，子进程最多 {kids:.0f} MiB")
    finally:
        if args.keep:
            log(f"保留临时工作区：{tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
