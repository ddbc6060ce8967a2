//! `window_funnel` as a SQL aggregate, ClickHouse style:
//!
//! ```sql
//! SELECT level, count(*) FROM (
//!   SELECT profile_id,
//!          window_funnel(604800000, timestamp, event = 'Product Viewed', event = 'Order Completed') AS level
//!   FROM events GROUP BY profile_id)
//! GROUP BY level
//! ```
//!
//! `window_funnel(window_ms, [mode,] timestamp, cond1, ..., condN)` returns
//! the furthest step reached, with the rules of [`super::chain`]; `mode` is
//! `'strict_order'`, `'strict_deduplication'`, `'strict_increase'` or
//! `'unordered'` (the default mode when absent).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, ListArray};
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, UInt64Type};
use datafusion::common::{exec_err, plan_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};

use super::chain::{entries_of, reach, Entry, FunnelMode, MAX_STEPS};

#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WindowFunnel {
    signature: Signature,
}

impl Default for WindowFunnel {
    fn default() -> Self {
        WindowFunnel {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl AggregateUDFImpl for WindowFunnel {
    fn name(&self) -> &str {
        "window_funnel"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        let first_condition = if args.get(1) == Some(&DataType::Utf8) {
            3
        } else {
            2
        };
        let conditions = args.len().saturating_sub(first_condition);
        if conditions == 0 || conditions > MAX_STEPS {
            return plan_err!(
                "window_funnel(window_ms, [mode,] timestamp, cond1, ..., condN) takes 1 to {MAX_STEPS} conditions"
            );
        }
        if args[first_condition..]
            .iter()
            .any(|t| t != &DataType::Boolean)
        {
            return plan_err!("window_funnel: the conditions must be boolean expressions");
        }
        Ok(DataType::Int64)
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::<FunnelAccumulator>::default())
    }

    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, item: DataType| {
            Arc::new(Field::new(
                name,
                DataType::List(Arc::new(Field::new("item", item, true))),
                true,
            ))
        };
        Ok(vec![
            list("times", DataType::Int64),
            list("masks", DataType::UInt64),
            Arc::new(Field::new("window", DataType::Int64, true)),
            Arc::new(Field::new("mode", DataType::Utf8, true)),
            Arc::new(Field::new("steps", DataType::Int64, true)),
        ])
    }
}

/// One person's events: time and the conditions each met.
#[derive(Debug, Default)]
struct FunnelAccumulator {
    times: Vec<i64>,
    masks: Vec<u64>,
    window: Option<i64>,
    mode: Option<String>,
    steps: usize,
}

fn as_millis(array: &ArrayRef) -> Result<ArrayRef> {
    Ok(arrow::compute::cast(array, &DataType::Int64)?)
}

impl Accumulator for FunnelAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let with_mode = values
            .get(1)
            .is_some_and(|v| v.data_type() == &DataType::Utf8);
        let first_condition = if with_mode { 3 } else { 2 };
        let windows = as_millis(&values[0])?;
        let windows = windows.as_primitive::<Int64Type>();
        if self.window.is_none() && !windows.is_empty() && windows.is_valid(0) {
            self.window = Some(windows.value(0));
        }
        if with_mode && self.mode.is_none() && values[1].is_valid(0) {
            self.mode = Some(values[1].as_string::<i32>().value(0).to_owned());
        }
        let times = as_millis(&values[first_condition - 1])?;
        let times = times.as_primitive::<Int64Type>();
        let conditions: Vec<&BooleanArray> = values[first_condition..]
            .iter()
            .map(|c| c.as_boolean())
            .collect();
        self.steps = conditions.len();
        for row in 0..times.len() {
            if times.is_null(row) {
                continue;
            }
            let mut mask = 0u64;
            for (bit, condition) in conditions.iter().enumerate() {
                if condition.is_valid(row) && condition.value(row) {
                    mask |= 1 << bit;
                }
            }
            self.times.push(times.value(row));
            self.masks.push(mask);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mode = match &self.mode {
            Some(text) => match FunnelMode::parse(text) {
                Ok(mode) => mode,
                Err(e) => return exec_err!("window_funnel: {e}"),
            },
            None => FunnelMode::Default,
        };
        let mut order: Vec<usize> = (0..self.times.len()).collect();
        order.sort_by_key(|&i| self.times[i]);
        let events = order.iter().map(|&i| (self.times[i], self.masks[i]));
        let mut entries: Vec<Entry> = Vec::new();
        entries_of(
            events,
            self.steps,
            mode == FunnelMode::StrictOrder,
            &mut entries,
        );
        let window = self.window.unwrap_or(0);
        let level = reach(&entries, self.steps, window, mode).map_or(0, |c| c.level);
        Ok(ScalarValue::Int64(Some(level as i64)))
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.times.capacity() * 8 + self.masks.capacity() * 8
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let times = ScalarValue::new_list_nullable(
            &self
                .times
                .iter()
                .map(|t| ScalarValue::Int64(Some(*t)))
                .collect::<Vec<_>>(),
            &DataType::Int64,
        );
        let masks = ScalarValue::new_list_nullable(
            &self
                .masks
                .iter()
                .map(|m| ScalarValue::UInt64(Some(*m)))
                .collect::<Vec<_>>(),
            &DataType::UInt64,
        );
        Ok(vec![
            ScalarValue::List(times),
            ScalarValue::List(masks),
            ScalarValue::Int64(self.window),
            ScalarValue::Utf8(self.mode.clone()),
            ScalarValue::Int64(Some(self.steps as i64)),
        ])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let times: &ListArray = states[0].as_list();
        let masks: &ListArray = states[1].as_list();
        let windows = states[2].as_primitive::<Int64Type>();
        let modes = states[3].as_string::<i32>();
        let steps = states[4].as_primitive::<Int64Type>();
        for row in 0..times.len() {
            if self.window.is_none() && windows.is_valid(row) {
                self.window = Some(windows.value(row));
            }
            if self.mode.is_none() && modes.is_valid(row) {
                self.mode = Some(modes.value(row).to_owned());
            }
            if steps.is_valid(row) {
                self.steps = self.steps.max(steps.value(row) as usize);
            }
            if times.is_valid(row) {
                let t = times.value(row);
                self.times
                    .extend(t.as_primitive::<Int64Type>().values().iter().copied());
                let m = masks.value(row);
                self.masks
                    .extend(m.as_primitive::<UInt64Type>().values().iter().copied());
            }
        }
        Ok(())
    }
}
