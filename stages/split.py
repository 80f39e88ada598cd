"""Stage split: check every image, leave out duplicates, then split them stratified into train / val / test."""

from foodcnn import cli, params
from foodcnn.data.duplicates import duplicate_report
from foodcnn.data.raw import read_fixed_test
from foodcnn.data.split import scan, split_report, stratified_split
from foodcnn.io import write_json, write_table
from foodcnn.layout import RAW_DIR, SPLIT_REPORT, SPLIT_TABLE, require


def main() -> None:
    settings = params.load()
    require(RAW_DIR)
    fixed_test = read_fixed_test(RAW_DIR)
    found = scan(RAW_DIR, settings.split.near_duplicates, fixed_test)
    split = stratified_split(found, settings.split.val_fraction, settings.split.test_fraction, settings.seed)
    duplicates = duplicate_report(found.duplicates, found.photos.classes, settings.split.near_duplicates, fixed_test)
    report = {**split_report(split.counts(), found.skipped), "duplicates": duplicates}
    # Row by row: a list of dicts, one per photo, would cost some 400 bytes each.
    write_table(SPLIT_TABLE, ({"path": path, "label": label, "split": name} for path, label, name in split.rows()))
    write_json(SPLIT_REPORT, report)
    print(
        f"split {sum(report['images'].values())} images: {report['images']}; skipped {len(found.skipped)}, "
        f"of which {duplicates['left_out']} duplicates"
    )


if __name__ == "__main__":
    cli.run(main)
