// Parse an iCalendar document from stdin with ical.js (Thunderbird's parser) and print what a
// client would show: per VEVENT its UID, SUMMARY, STATUS, SEQUENCE, and start/end in UTC computed
// from the document's own VTIMEZONE (not from a time zone database).
import ICAL from "ical.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const root = new ICAL.Component(ICAL.parse(Buffer.concat(chunks).toString("utf8")));
for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(new ICAL.Timezone(vtimezone));
}
const utc = (time) => time.convertToZone(ICAL.Timezone.utcTimezone).toJSDate().toISOString();
const events = root.getAllSubcomponents("vevent").map((component) => {
  const event = new ICAL.Event(component);
  return {
    uid: event.uid,
    summary: event.summary,
    status: component.getFirstPropertyValue("status"),
    sequence: event.sequence,
    tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
    start: utc(event.startDate),
    end: utc(event.endDate),
    utcOffsetSeconds: event.startDate.utcOffset(),
  };
});
process.stdout.write(JSON.stringify({ method: root.getFirstPropertyValue("method"), events }));
