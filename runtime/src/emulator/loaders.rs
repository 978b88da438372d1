//! The user-code classloaders of a run, as the agent's reports show them round after round.
//!
//! The agent's JSON report is read as it is, with telemetry's own [`Report`] model
//! ([`AgentSnapshot::parse`]): per loader its `kind`, whether it holds `user_code`, the Flink job
//! it serves (`flink_job_id`, from the blob-cache URL of its jar) and when it was released, plus
//! the `duplicate_classes` and the agent's `limits`. From the reports taken after each round and at
//! the end, [`lifetimes`] draws each user-code loader's life: the round it served, when it was
//! released, when it was collected or that it leaked.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use crate::telemetry::{DuplicateClass, Release as ReleasedAt};
use crate::telemetry::{LoaderId, LoaderReport, Report, Suspect};

/// The agent's report at one moment, read as written.
#[derive(Debug, Clone, Default)]
pub struct AgentSnapshot {
    pub report: Report,
}

impl AgentSnapshot {
    /// Reads the agent's JSON report text.
    pub fn parse(text: &str) -> Result<AgentSnapshot, serde_json::Error> {
        Ok(AgentSnapshot {
            report: serde_json::from_str(text)?,
        })
    }

    /// The loaders serving Flink job `job_id` (32 hex digits, either case).
    pub fn job_loaders<'s>(&'s self, job_id: &'s str) -> impl Iterator<Item = &'s LoaderReport> + 's {
        self.report.loaders.iter().filter(move |l| {
            l.flink_job_id
                .as_deref()
                .is_some_and(|j| j.eq_ignore_ascii_case(job_id))
        })
    }

    /// Whether a loader of job `job_id` is still alive (its collection is pending or it leaks).
    pub fn job_loader_alive(&self, job_id: &str) -> bool {
        self.job_loaders(job_id).any(|l| l.alive)
    }

    /// Rounds (of `job_rounds`: job id → round) with a loader still alive in this report.
    pub fn rounds_alive(&self, job_rounds: &BTreeMap<String, u32>) -> Vec<u32> {
        let mut rounds: BTreeSet<u32> = BTreeSet::new();
        for l in self.report.loaders.iter().filter(|l| l.alive) {
            if let Some(r) = l
                .flink_job_id
                .as_deref()
                .and_then(|j| job_rounds.get(&j.to_ascii_lowercase()))
            {
                rounds.insert(*r);
            }
        }
        rounds.into_iter().collect()
    }
}

/// One user-code loader's life over the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoaderLifetime {
    pub id: LoaderId,
    pub class: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub flink_job_id: Option<String>,
    /// The round the loader served (Flink: its job's round; plain: the round it appeared in).
    #[serde(default)]
    pub round: Option<u32>,
    /// The first report it appears in: after round N (0: the baseline).
    pub seen_after_round: u32,
    /// The first report in which it was released.
    #[serde(default)]
    pub released_after_round: Option<u32>,
    /// The first report in which it was collected; `None`: alive at the end.
    #[serde(default)]
    pub collected_after_round: Option<u32>,
    #[serde(default)]
    pub released_at: Option<ReleasedAt>,
    pub classes_defined: u64,
    pub leaked: bool,
    #[serde(default)]
    pub suspects: Vec<Suspect>,
}

/// The lives of the user-code loaders (as the agent classifies them) that appeared during a job.
/// `known_before` holds the
/// ids of the loaders that existed before the job; `rounds` the reports after each round (with
/// its number); `last` the final report; `job_rounds` maps Flink job ids (lower case) to rounds.
pub fn lifetimes(
    known_before: &BTreeSet<LoaderId>,
    rounds: &[(u32, &AgentSnapshot)],
    last: &AgentSnapshot,
    job_rounds: &BTreeMap<String, u32>,
) -> Vec<LoaderLifetime> {
    let end = rounds.last().map_or(0, |(r, _)| *r);
    let mut lives: BTreeMap<LoaderId, LoaderLifetime> = BTreeMap::new();
    let all = rounds.iter().map(|(r, s)| (*r, *s)).chain(std::iter::once((end, last)));
    for (after, snapshot) in all {
        for l in &snapshot.report.loaders {
            if known_before.contains(&l.id) || !l.user_code {
                continue;
            }
            let life = lives.entry(l.id).or_insert_with(|| LoaderLifetime {
                id: l.id,
                class: l.class.clone(),
                name: l.name.clone(),
                kind: None,
                flink_job_id: None,
                round: None,
                seen_after_round: after,
                released_after_round: None,
                collected_after_round: None,
                released_at: None,
                classes_defined: 0,
                leaked: false,
                suspects: Vec::new(),
            });
            if life.kind.is_none() || l.kind != crate::telemetry::LoaderKind::Other {
                life.kind = Some(l.kind.as_str().to_string());
            }
            life.flink_job_id = l
                .flink_job_id
                .as_deref()
                .map(str::to_ascii_lowercase)
                .or(life.flink_job_id.take());
            life.released_at = l.released_at.or(life.released_at);
            life.classes_defined = life.classes_defined.max(l.classes_defined);
            if l.released && life.released_after_round.is_none() {
                life.released_after_round = Some(after);
            }
            if !l.alive && life.collected_after_round.is_none() {
                life.collected_after_round = Some(after);
            }
        }
    }
    for l in &last.report.loaders {
        if let Some(life) = lives.get_mut(&l.id) {
            life.leaked = l.leaked;
            life.suspects = l.suspects.clone();
        }
    }
    lives
        .into_values()
        .map(|mut life| {
            life.round = match &life.flink_job_id {
                Some(job) => job_rounds.get(job).copied(),
                None => Some(life.seen_after_round.max(1)),
            };
            life
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(json: &str) -> AgentSnapshot {
        AgentSnapshot::parse(json).unwrap()
    }

    const JOB_A: &str = "0123456789abcdef0123456789abcdef";
    const JOB_B: &str = "fedcba9876543210fedcba9876543210";

    #[test]
    fn job_loaders_are_found_by_their_flink_job_id() {
        let s = snapshot(&format!(
            r#"{{"classes_loaded_total":9,"loaders":[{{"id":0,"class":"<bootstrap>","alive":true}},
              {{"id":7,"class":"org.apache.flink.util.ChildFirstClassLoader","alive":true,"released":true,
                "kind":"flink","user_code":true,"flink_job_id":"{}","urls":["file:/tmp/blob_p-1"],
                "released_at":{{"unix_ms":5,"full_gc_count":2}}}}],
              "duplicate_classes":[{{"name":"a.B","loaders":[2,7]}}],"limits":["heap walk cut short"]}}"#,
            JOB_A.to_uppercase()
        ));
        assert_eq!(s.job_loaders(JOB_A).count(), 1);
        assert!(s.job_loader_alive(JOB_A));
        assert!(!s.job_loader_alive(JOB_B));
        assert_eq!(s.report.duplicate_classes[0].loaders, vec![2, 7]);
        assert_eq!(s.report.limits, vec!["heap walk cut short".to_string()]);
        assert!(AgentSnapshot::parse("{").is_err());
    }

    #[test]
    fn lifetimes_follow_each_user_code_loader_over_the_rounds() {
        let after1 = snapshot(&format!(
            r#"{{"loaders":[{{"id":2,"class":"App","alive":true}},
              {{"id":5,"class":"CF","alive":true,"released":true,"user_code":true,"kind":"flink","flink_job_id":"{JOB_A}"}},
              {{"id":6,"class":"Plugin","alive":true,"user_code":false}}]}}"#
        ));
        let after2 = snapshot(&format!(
            r#"{{"loaders":[{{"id":2,"class":"App","alive":true}},
              {{"id":5,"class":"CF","alive":false,"released":true,"user_code":true,"flink_job_id":"{JOB_A}"}},
              {{"id":8,"class":"CF","alive":true,"released":true,"user_code":true,"flink_job_id":"{JOB_B}"}}]}}"#
        ));
        let last = snapshot(&format!(
            r#"{{"loaders":[{{"id":2,"class":"App","alive":true}},
              {{"id":5,"class":"CF","alive":false,"released":true,"user_code":true,"flink_job_id":"{JOB_A}"}},
              {{"id":8,"class":"CF","alive":true,"released":true,"leaked":true,"user_code":true,"flink_job_id":"{JOB_B}",
                "suspects":[{{"kind":"thread","description":"thread \"lingering\""}}]}}]}}"#
        ));
        let known: BTreeSet<LoaderId> = [0, 2].into_iter().collect();
        let job_rounds: BTreeMap<String, u32> = [(JOB_A.to_string(), 1), (JOB_B.to_string(), 2)].into_iter().collect();
        let lives = lifetimes(&known, &[(1, &after1), (2, &after2)], &last, &job_rounds);
        assert_eq!(lives.len(), 2, "the plugin loader is not user code: {lives:?}");
        let a = &lives[0];
        assert_eq!((a.id, a.round, a.seen_after_round), (5, Some(1), 1));
        assert_eq!(a.kind.as_deref(), Some("flink"));
        assert_eq!(
            (a.released_after_round, a.collected_after_round, a.leaked),
            (Some(1), Some(2), false)
        );
        let b = &lives[1];
        assert_eq!(
            (b.id, b.round, b.collected_after_round, b.leaked),
            (8, Some(2), None, true)
        );
        assert_eq!(b.suspects[0].description, "thread \"lingering\"");
        assert_eq!(last.rounds_alive(&job_rounds), vec![2]);
    }

    #[test]
    fn a_loader_without_a_job_belongs_to_the_round_it_appeared_in() {
        let after1 = snapshot(
            r#"{"loaders":[{"id":4,"class":"tmrt","alive":true,"released":true,"user_code":true},{"id":9,"class":"Definer","alive":true}]}"#,
        );
        let lives = lifetimes(&BTreeSet::new(), &[(1, &after1)], &after1, &BTreeMap::new());
        assert_eq!(lives.len(), 1);
        assert_eq!((lives[0].id, lives[0].round), (4, Some(1)));
    }
}
