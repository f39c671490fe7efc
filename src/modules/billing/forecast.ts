// Month-end projection from this month's daily usage. Two methods:
// - weekday: each day still to come is the mean of the completed days of this month that fell on the
//   same weekday (the mean of all completed days when that weekday has not come up yet);
// - trend: an ordinary least-squares line through the completed days (day of month -> value), each
//   day to come its value on the line, never below zero.
// Today counts what it has used so far plus the projection for the part of it still to come. With no
// completed day yet, nothing is projected beyond what was used.

export type ForecastMethod = 'weekday' | 'trend';

export interface ProjectionInput {
  /** One value per day of the month, index 0 the 1st: observed for days before today, today's so far, 0 after. */
  daily: readonly number[];
  /** 0-based index of today in the month. */
  today: number;
  /** Share of today still to come, 0 to 1. */
  todayLeft: number;
  /** Weekday (0 Sunday) of the month's 1st. */
  firstWeekday: number;
  method: ForecastMethod;
}

export interface Projection {
  /** Per day: the observed value for past days, today's so far plus its projected rest, the projection after. */
  days: number[];
  total: number;
}

export function project(input: ProjectionInput): Projection {
  const completed = input.daily.slice(0, input.today);
  const predict = predictor(completed, input.firstWeekday, input.method);
  const days = input.daily.map((value, day) => {
    if (day < input.today) return value;
    if (completed.length === 0) return day === input.today ? value : 0;
    if (day === input.today) return value + predict(day) * input.todayLeft;
    return predict(day);
  });
  return { days, total: days.reduce((sum, value) => sum + value, 0) };
}

/** The first 0-based day on which the running total reaches `limit`, or null if it does not this month. */
export function crossingDay(days: readonly number[], limit: number): number | null {
  let total = 0;
  for (let day = 0; day < days.length; day++) {
    total += days[day]!;
    if (total >= limit) return day;
  }
  return null;
}

function predictor(completed: readonly number[], firstWeekday: number, method: ForecastMethod): (day: number) => number {
  const n = completed.length;
  const mean = n === 0 ? 0 : completed.reduce((sum, value) => sum + value, 0) / n;
  if (method === 'weekday') {
    const sums = new Array<number>(7).fill(0);
    const counts = new Array<number>(7).fill(0);
    completed.forEach((value, day) => {
      const weekday = (firstWeekday + day) % 7;
      sums[weekday]! += value;
      counts[weekday]! += 1;
    });
    return (day) => {
      const weekday = (firstWeekday + day) % 7;
      return counts[weekday]! > 0 ? sums[weekday]! / counts[weekday]! : mean;
    };
  }
  if (n < 2) return () => mean;
  // Least squares over x = 1..n (day of month), y = the day's value.
  const meanX = (n + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  completed.forEach((value, day) => {
    sxy += (day + 1 - meanX) * (value - mean);
    sxx += (day + 1 - meanX) ** 2;
  });
  const slope = sxy / sxx;
  return (day) => Math.max(0, mean + slope * (day + 1 - meanX));
}
