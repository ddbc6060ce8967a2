//! Checks on the shape of a journey's step graph: every step reachable
//! from the start, and no loop a customer could run round without waiting
//! (which would spin forever within one instant).

use crate::definition::{Journey, StepId};
use crate::problems::Problems;

pub fn check_graph(journey: &Journey, problems: &mut Problems) {
    unreachable_steps(journey, problems);
    cycles_without_wait(journey, problems);
}

fn unreachable_steps(journey: &Journey, problems: &mut Problems) {
    let mut seen = vec![false; journey.steps.len()];
    let mut stack = vec![journey.start];
    while let Some(id) = stack.pop() {
        if std::mem::replace(&mut seen[id], true) {
            continue;
        }
        stack.extend(journey.steps[id].kind.successors());
    }
    for (step, reached) in journey.steps.iter().zip(seen) {
        if !reached {
            problems.add(
                &format!("steps.{}", step.name),
                format!(
                    "unreachable: no path leads here from the start step {:?}",
                    journey.steps[journey.start].name
                ),
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mark {
    New,
    OnPath,
    Done,
}

/// Depth-first over the steps that do not wait; a back edge closes a loop.
fn cycles_without_wait(journey: &Journey, problems: &mut Problems) {
    let steps = &journey.steps;
    let mut marks = vec![Mark::New; steps.len()];
    for root in 0..steps.len() {
        if marks[root] != Mark::New || steps[root].kind.waits() {
            continue;
        }
        // (step, its successors not yet followed)
        let mut path: Vec<(StepId, Vec<StepId>)> = vec![(root, steps[root].kind.successors())];
        marks[root] = Mark::OnPath;
        while let Some((_, pending)) = path.last_mut() {
            let Some(next) = pending.pop() else {
                let (done, _) = path.pop().expect("not empty");
                marks[done] = Mark::Done;
                continue;
            };
            if steps[next].kind.waits() {
                continue;
            }
            match marks[next] {
                Mark::New => {
                    marks[next] = Mark::OnPath;
                    path.push((next, steps[next].kind.successors()));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|(s, _)| *s == next).unwrap_or(0);
                    let names: Vec<&str> = path[from..]
                        .iter()
                        .map(|(s, _)| steps[*s].name.as_str())
                        .chain([steps[next].name.as_str()])
                        .collect();
                    problems.add(
                        &format!("steps.{}", steps[next].name),
                        format!("a loop with no wait step: {}", names.join(" -> ")),
                    );
                }
                Mark::Done => {}
            }
        }
    }
}
