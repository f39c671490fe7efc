import { describe, expect, it } from 'vitest';
import { crossingDay, project } from './forecast.ts';

// A synthetic November 2026 (the 1st is a Sunday), seen on the 15th at 06:00: 14 complete days.
const NOVEMBER_FIRST = Date.UTC(2026, 10, 1);
const DAYS = 30;
const TODAY = 14;
const TODAY_LEFT = 0.75;
const weekdayOf = (day: number) => new Date(NOVEMBER_FIRST + day * 86_400_000).getUTCDay();
// Weekdays busier than weekends, with a slow rise: not a shape either method fits exactly.
const observed = Array.from({ length: TODAY }, (_, day) => (weekdayOf(day) === 0 || weekdayOf(day) === 6 ? 200 : 1_000) + 10 * day);
const todaySoFar = 300;
const daily = [...observed, todaySoFar, ...new Array<number>(DAYS - TODAY - 1).fill(0)];

describe('month-end projection', () => {
  it('weekday: each day to come at the mean of the completed days on its weekday', () => {
    // Reference: group the observed days by calendar weekday.
    const byWeekday = new Map<number, number[]>();
    observed.forEach((value, day) => byWeekday.set(weekdayOf(day), [...(byWeekday.get(weekdayOf(day)) ?? []), value]));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    let expected = observed.reduce((a, b) => a + b, 0) + todaySoFar + mean(byWeekday.get(weekdayOf(TODAY))!) * TODAY_LEFT;
    for (let day = TODAY + 1; day < DAYS; day++) expected += mean(byWeekday.get(weekdayOf(day))!);

    const projection = project({ daily, today: TODAY, todayLeft: TODAY_LEFT, firstWeekday: new Date(NOVEMBER_FIRST).getUTCDay(), method: 'weekday' });
    expect(projection.total).toBeCloseTo(expected, 6);
    expect(projection.days.slice(0, TODAY)).toEqual(observed);
  });

  it('trend: each day to come on the least-squares line through the completed days', () => {
    // Reference: the textbook formulas over x = day of month.
    const xs = observed.map((_, day) => day + 1);
    const n = xs.length;
    const sx = xs.reduce((a, b) => a + b, 0);
    const sy = observed.reduce((a, b) => a + b, 0);
    const sxy = xs.reduce((acc, x, i) => acc + x * observed[i]!, 0);
    const sxx = xs.reduce((acc, x) => acc + x * x, 0);
    const b = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const a = (sy - b * sx) / n;
    const line = (dayOfMonth: number) => Math.max(0, a + b * dayOfMonth);
    let expected = sy + todaySoFar + line(TODAY + 1) * TODAY_LEFT;
    for (let day = TODAY + 2; day <= DAYS; day++) expected += line(day);

    const projection = project({ daily, today: TODAY, todayLeft: TODAY_LEFT, firstWeekday: new Date(NOVEMBER_FIRST).getUTCDay(), method: 'trend' });
    expect(projection.total).toBeCloseTo(expected, 6);
  });

  it('projects nothing beyond what was used before a day is complete, and never a negative day', () => {
    const first = project({ daily: [500, ...new Array<number>(29).fill(0)], today: 0, todayLeft: 0.5, firstWeekday: 0, method: 'trend' });
    expect(first.total).toBe(500);
    const falling = project({ daily: [1_000, 500, 0, ...new Array<number>(27).fill(0)], today: 2, todayLeft: 1, firstWeekday: 0, method: 'trend' });
    expect(Math.min(...falling.days)).toBe(0);
    expect(falling.total).toBe(1_500);
  });

  it('finds the day a running total reaches a limit', () => {
    expect(crossingDay([10, 10, 10], 20)).toBe(1);
    expect(crossingDay([10, 10, 10], 21)).toBe(2);
    expect(crossingDay([10, 10, 10], 31)).toBeNull();
    expect(crossingDay([25, 0], 20)).toBe(0);
  });
});
