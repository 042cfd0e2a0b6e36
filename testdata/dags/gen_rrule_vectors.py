"""Generates testdata/dags/rrule_vectors.json, the reference for translate's rrule evaluator.

next is the first date Prefect's own RRuleSchedule (the pinned server code) schedules strictly
after `at`; prev is dateutil's rrule.before(at) on the same localized rule (to_rrule()).

Run from the repository root: .venv/bin/python testdata/dags/gen_rrule_vectors.py
"""
import asyncio, datetime, json
from prefect.server.schemas.schedules import RRuleSchedule

rules = [
    "FREQ=DAILY",
    "FREQ=DAILY;BYHOUR=9;BYMINUTE=30",
    "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=9",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=18;BYMINUTE=15",
    "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,SA",
    "FREQ=MONTHLY;BYMONTHDAY=1,15;BYHOUR=6",
    "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=23;BYMINUTE=59",
    "FREQ=MONTHLY;BYMONTHDAY=31",
    "FREQ=MONTHLY;INTERVAL=3;BYDAY=MO;BYHOUR=8",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=YEARLY;BYMONTH=1,7;BYMONTHDAY=1;BYHOUR=0",
    "FREQ=HOURLY;INTERVAL=5",
    "FREQ=HOURLY;BYMINUTE=0,30;BYDAY=MO,TU,WE,TH,FR",
    "FREQ=MINUTELY;INTERVAL=45",
    "FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=12",
    "DTSTART:20240105T071500\nRRULE:FREQ=DAILY;INTERVAL=2",
    "DTSTART:20230301T100000Z RRULE:FREQ=WEEKLY;BYDAY=TH",
    "DTSTART;TZID=America/New_York:20240101T090000\nRRULE:FREQ=DAILY",
    "DTSTART:20240101T000000\nRRULE:FREQ=DAILY;COUNT=10",
    "DTSTART:20240101T000000\nRRULE:FREQ=WEEKLY;UNTIL=20250101T000000",
    "FREQ=DAILY;BYMONTH=3;BYHOUR=2;BYMINUTE=30",
    "FREQ=DAILY;BYMONTH=10,11;BYHOUR=1;BYMINUTE=30",
    "freq=daily;byhour=6",
]
zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
starts = ["2024-01-01T00:00:00Z", "2024-03-31T00:30:00Z", "2024-11-03T05:30:00Z", "2024-02-28T23:59:59Z",
          "2025-06-15T06:00:00Z", "2024-12-31T23:00:00Z", "2024-03-10T06:59:30Z", "2024-10-27T00:15:00Z"]


async def main():
    out, skipped = [], 0
    for rule in rules:
        for tz in zones:
            sch = RRuleSchedule(rrule=rule, timezone=tz)
            rr = sch.to_rrule()
            for s in starts:
                at = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
                dates = await sch.get_dates(n=1, start=at + datetime.timedelta(seconds=1))
                prev = rr.before(at)
                v = {"rule": rule, "tz": tz, "at": s,
                     "next": dates[0].astimezone(datetime.timezone.utc).isoformat() if dates else None,
                     "prev": prev.astimezone(datetime.timezone.utc).isoformat() if prev else None}
                if v["next"] and dates[0] <= at:
                    skipped += 1
                    continue
                out.append(v)
    json.dump({"generator": "testdata/dags/gen_rrule_vectors.py: prefect 3.8.8 RRuleSchedule.get_dates (next), dateutil rrule.before (prev)",
               "vectors": out}, open("testdata/dags/rrule_vectors.json", "w"), indent=1)
    print(f"{len(out)} vectors, {skipped} left out (Prefect answered a time before the start)")

asyncio.run(main())
