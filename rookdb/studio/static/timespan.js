// .NET TimeSpan strings ("90.00:00:00" = 90 days) as RavenDB sends cache expirations.

const TIMESPAN = /^(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/;

export function daysToTimeSpan(days) {
  const totalSeconds = Math.round(days * 86400);
  const wholeDays = Math.floor(totalSeconds / 86400);
  let rest = totalSeconds - wholeDays * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  const pad = (number) => String(number).padStart(2, '0');
  const clock = `${pad(hours)}:${pad(minutes)}:${pad(seconds)}`;
  return wholeDays > 0 ? `${wholeDays}.${clock}` : clock;
}

export function timeSpanToDays(text) {
  const match = TIMESPAN.exec(String(text ?? '').trim());
  if (!match) return null;
  const [, negative, days = '0', hours, minutes, seconds, fraction = '0'] = match;
  const total = Number(days) + Number(hours) / 24 + Number(minutes) / 1440
    + Number(`${seconds}.${fraction}`) / 86400;
  const rounded = Math.round(total * 1000) / 1000;
  return negative ? -rounded : rounded;
}
