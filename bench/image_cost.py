"""What stripping image metadata (issue 24) costs an upload: for phone-like images of each
format, the stored size before and after, and the time of `services.images.examine` (what an
upload runs off the event loop: checks, thumbnail) beside the time of the stripping itself
(`strip_metadata`: dropping blocks, or decoding, turning and re-encoding), per MB of upload. Re-encoded images (a photo whose EXIF orientation
is not upright) also get their PSNR against the original turned upright: how much quality
the re-encode kept.

    .venv/bin/python bench/image_cost.py [--runs 3] [--json]

No server and no database: the function is pure CPU. `make bench` runs it after the
socket benchmarks. The images are made here (smooth gradients with grain, which compress about
like a photo), with EXIF (GPS, camera) and XMP as phones write them.
"""

import argparse
import io
import json
import math
import statistics
import sys
import time
from pathlib import Path

from PIL import Image, ImageChops, ImageFilter, ImageOps, ImageStat, PngImagePlugin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webchat.services import images  # noqa: E402

MB = 1024 * 1024
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>' + b" " * 4000  # phones pad XMP


def photo(size):
    """Smooth colour gradients with a little grain: compresses about as a photo does (pure
    noise, the worst case for a re-encode, would understate the PSNR of a real photo)."""
    gradient = Image.linear_gradient("L").resize(size)
    scene = Image.merge("RGB", (gradient, gradient.rotate(90).resize(size), ImageChops.invert(gradient)))
    grain = Image.effect_noise(size, 20).convert("RGB")
    return Image.blend(scene.filter(ImageFilter.GaussianBlur(3)), grain, 0.15)


def exif(orientation):
    data = Image.Exif()
    data[0x010F], data[0x0110], data[0x0112] = "samsung", "Galaxy S24", orientation
    gps = data.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (37.0, 33.0, 59.0), "E", (126.0, 58.0, 40.0)
    return data


def encoded(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def cases():
    """(label, bytes, content type) of each image measured."""
    twelve = photo((4000, 3000))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 2000)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    frames = [photo((480, 270)) for _ in range(10)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], loop=0, duration=100, comment=b"x" * 500)
    return [
        ("JPEG 12 MP, upright", encoded(twelve, "JPEG", quality=90, exif=exif(1), xmp=XMP), "image/jpeg"),
        ("JPEG 12 MP, orientation 6", encoded(twelve, "JPEG", quality=90, exif=exif(6), xmp=XMP), "image/jpeg"),
        ("PNG 2 MP screenshot, text", encoded(photo((1920, 1080)), "PNG", pnginfo=info, exif=exif(1)), "image/png"),
        ("WebP 12 MP lossy, EXIF", encoded(twelve, "WEBP", quality=85, exif=exif(1), xmp=XMP), "image/webp"),
        ("WebP 12 MP lossy, orient. 6", encoded(twelve, "WEBP", quality=85, exif=exif(6)), "image/webp"),
        ("GIF 480x270, 10 frames", gif.getvalue(), "image/gif"),
    ]


def timed(runs, function, *args):
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def psnr(original, stripped):
    """PSNR (dB) of the stored image against the original turned upright; inf if identical."""
    before = ImageOps.exif_transpose(Image.open(io.BytesIO(original))).convert("RGB")
    after = Image.open(io.BytesIO(stripped)).convert("RGB")
    mse = statistics.mean(v**2 for v in ImageStat.Stat(ImageChops.difference(before, after)).rms)
    return math.inf if mse == 0 else 10 * math.log10(255**2 / mse)


def measure(runs):
    for label, data, content_type in cases():
        examine, _ = timed(runs, images.examine, data, content_type, 25_000_000, False)
        strip, stripped = timed(runs, images.strip_metadata, data, content_type, 25_000_000)
        stored = stripped if stripped is not None else data
        reencoded = images.strip_blocks(data, images.FORMATS[content_type]) != stored
        yield {
            "scenario": "image_strip",
            "image": label,
            "bytes_before": len(data),
            "bytes_after": len(stored),
            "how": "re-encoded" if reencoded else "blocks dropped",
            "examine_ms": round(examine * 1000, 1),
            "strip_ms": round(strip * 1000, 1),
            "strip_ms_per_mb": round(strip * 1000 / (len(data) / MB), 1),
            "psnr_db": round(psnr(data, stored), 1) if reencoded else None,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    if not args.json:
        print(
            f"{'image':30} {'before':>10} {'after':>10} {'change':>7}  {'how':15} "
            f"{'examine':>8} {'strip':>8} {'strip/MB':>9} {'PSNR':>6}"
        )
    for row in measure(args.runs):
        if args.json:
            print(json.dumps(row), flush=True)
            continue
        change = (row["bytes_after"] - row["bytes_before"]) / row["bytes_before"] * 100
        quality = "" if row["psnr_db"] is None else f"{row['psnr_db']:.1f}"
        print(
            f"{row['image']:30} {row['bytes_before']:>10,} {row['bytes_after']:>10,} {change:>+6.1f}%  "
            f"{row['how']:15} {row['examine_ms']:>6.0f}ms {row['strip_ms']:>6.0f}ms "
            f"{row['strip_ms_per_mb']:>7.1f}ms {quality:>6}",
            flush=True,
        )


if __name__ == "__main__":
    main()
