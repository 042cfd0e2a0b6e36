"""Generates testdata/dags/cron_vectors.json, the reference for translate's cron evaluator.

next is the first date Prefect's own CronSchedule (the pinned server code, Python 3.11 path)
schedules strictly after `at`; prev is the same croniter/pytz arithmetic run with get_prev.
Prefect answers a time before `at` for a start just before a daylight-saving gap (a bug of
its naive-time arithmetic); those few vectors are left out and translate's own table tests
pin the gateway's behaviour there (the skipped wall time moves forward by the change).

Run from the repository root: .venv/bin/python testdata/dags/gen_cron_vectors.py
"""
import json, datetime, asyncio
from prefect.server.schemas.schedules import CronSchedule
from prefect._vendor.croniter import croniter
from prefect.types._datetime import create_datetime_instance
import pytz

exprs = [
 ("0 6 * * *", True), ("*/5 * * * *", True), ("0 * * * *", True), ("30 2 * * 1-5", True),
 ("0 0 1 * *", True), ("0 0 L * *", True), ("15,45 9-17 * * mon-fri", True), ("0 0 * * 0", True),
 ("0 0 * * 7", True), ("0 12 13 * 5", True), ("0 12 13 * 5", False), ("0 0 29 2 *", True),
 ("0 9 * * 5#2", True), ("0 0 1 jan,jul *", True), ("5/20 * * * *", True), ("0 */6 * * *", True),
 ("@daily", True), ("@hourly", True), ("@weekly", True), ("@monthly", True), ("@yearly", True),
 ("0 0 * * * 30", True), ("*/10 * * * * *", True), ("0 2 * * *", True), ("30 1 * * *", True),
 ("0 0 31 * *", True), ("59 23 * * sat", True), ("0 8-18/2 * * *", True),
]
zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
starts = ["2024-01-01T00:00:00Z", "2024-03-31T00:30:00Z", "2024-11-03T05:30:00Z",
          "2024-02-28T23:59:59Z", "2025-06-15T06:00:00Z", "2024-12-31T23:00:00Z", "2024-03-10T06:59:30Z",
          "2024-10-27T00:15:00Z"]

def prev_like_prefect(expr, tz, day_or, at):
    start = at.astimezone(pytz.timezone(tz))
    start_localized = pytz.timezone(tz).localize(start.replace(tzinfo=None))
    naive = start.replace(tzinfo=None)
    p = croniter(expr, naive, day_or=day_or).get_prev(datetime.datetime)
    return create_datetime_instance(start_localized + (p - naive))

async def main():
    out = []
    skipped = 0
    for expr, day_or in exprs:
        for tz in zones:
            sch = CronSchedule(cron=expr, timezone=tz, day_or=day_or)
            for s in starts:
                at = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
                dates = await sch.get_dates(n=1, start=at + datetime.timedelta(seconds=1))
                nxt = dates[0]
                if nxt <= at:
                    skipped += 1
                    continue
                prv = prev_like_prefect(expr, tz, day_or, at)
                out.append({"expr": expr, "day_or": day_or, "tz": tz, "at": s,
                            "next": nxt.astimezone(datetime.timezone.utc).isoformat(),
                            "prev": prv.astimezone(datetime.timezone.utc).isoformat()})
    json.dump({"generator": "testdata/dags/gen_cron_vectors.py: prefect 3.8.8 CronSchedule.get_dates (next), its croniter/pytz arithmetic with get_prev (prev)",
               "vectors": out}, open("testdata/dags/cron_vectors.json", "w"), indent=1)
    print(f"{len(out)} vectors, {skipped} left out (Prefect answered a time before the start)")
asyncio.run(main())
