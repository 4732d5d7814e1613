//! Knowledge gaps: the questions the bot could not answer with confidence, grouped by meaning so
//! a support lead sees "12 people asked about gift cards" rather than 12 separate lines, biggest
//! gap first. Pure functions over vectors; the admin API embeds the questions.

use crate::embed::dot;

/// A question joins a group when its cosine to the group's mean reaches this. Measured with the
/// default model (MiniLM int8) on 19 customer questions about 7 topics a shop's FAQ lacks:
/// casual paraphrases of one topic score only 0.43–0.73 with each other ("Do you sell gift
/// cards?" vs "Is there a gift certificate I could give someone?": 0.57), questions on different
/// topics at most 0.37. At 0.45 and 0.5, in input order and reversed, no group mixed topics and
/// six topics formed one group each (the two referral questions, "Do you have a referral
/// program?" and "do I get credits for inviting friends?", stayed apart); at 0.55 the dark-mode
/// and language questions split, at 0.7 the five gift-card questions split in four.
/// `tests/integration/admin.rs` checks grouping through the admin API.
pub const SIMILARITY_THRESHOLD: f32 = 0.5;

/// One group of similar questions of one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub tenant: String,
    /// Indexes into the input, in input order.
    pub members: Vec<usize>,
    /// The member closest to the group's mean vector.
    pub representative: usize,
}

/// (tenant, members, sum of the members' vectors: it points along their mean)
type Cluster = (String, Vec<usize>, Vec<f32>);

/// Greedy clustering: each question (in input order) joins the most similar existing group of
/// its tenant when the cosine to that group's mean reaches `threshold`, else starts a new group;
/// then groups whose means are that similar are merged. Questions of different tenants never
/// share a group. Groups come back biggest first (ties in order of creation).
pub fn group_by_similarity(items: &[(&str, &[f32])], threshold: f32) -> Vec<Group> {
    let mut groups = assign_greedily(items, threshold);
    merge_close_groups(&mut groups, threshold);
    let mut out: Vec<Group> = groups
        .into_iter()
        .map(|(tenant, mut members, sum)| {
            members.sort_unstable();
            let representative = closest_to(&sum, &members, items);
            Group {
                tenant,
                members,
                representative,
            }
        })
        .collect();
    out.sort_by_key(|g| std::cmp::Reverse(g.members.len()));
    out
}

fn assign_greedily(items: &[(&str, &[f32])], threshold: f32) -> Vec<Cluster> {
    let mut groups: Vec<Cluster> = Vec::new();
    for (i, (tenant, vector)) in items.iter().enumerate() {
        let best = groups
            .iter()
            .enumerate()
            .filter(|(_, (t, _, _))| t == tenant)
            .map(|(g, (_, _, sum))| (g, cosine(vector, sum)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((g, similarity)) if similarity >= threshold => {
                let (_, members, sum) = &mut groups[g];
                members.push(i);
                sum.iter_mut().zip(vector.iter()).for_each(|(s, v)| *s += v);
            }
            _ => groups.push((tenant.to_string(), vec![i], vector.to_vec())),
        }
    }
    groups
}

/// The greedy pass depends on order: a question can start its own group before the group it
/// belongs with has formed around other paraphrases. Merging groups (of one tenant) whose means
/// reach the threshold, until none do, undoes most of that.
fn merge_close_groups(groups: &mut Vec<Cluster>, threshold: f32) {
    let mut merged = true;
    while merged {
        merged = false;
        let mut i = 0;
        while i < groups.len() {
            let mut j = i + 1;
            while j < groups.len() {
                if groups[j].0 == groups[i].0 && cosine(&groups[i].2, &groups[j].2) >= threshold {
                    let (_, members, sum) = groups.remove(j);
                    groups[i].1.extend(members);
                    groups[i].2.iter_mut().zip(&sum).for_each(|(s, v)| *s += v);
                    merged = true;
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
    }
}

/// The member whose vector is most similar to `direction` (the members' sum points along their
/// mean); the first one on ties.
fn closest_to(direction: &[f32], members: &[usize], items: &[(&str, &[f32])]) -> usize {
    members
        .iter()
        .copied()
        .map(|m| (m, cosine(items[m].1, direction)))
        .fold(None, |best: Option<(usize, f32)>, (m, s)| match best {
            Some((_, b)) if b >= s => best,
            _ => Some((m, s)),
        })
        .map_or(members[0], |(m, _)| m)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let norms = (dot(a, a) * dot(b, b)).sqrt();
    if norms == 0.0 {
        0.0
    } else {
        dot(a, b) / norms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_vectors_group_and_dissimilar_ones_stay_apart() {
        let a1 = [1.0, 0.1, 0.0];
        let a2 = [0.9, 0.2, 0.0];
        let a3 = [1.0, 0.0, 0.1];
        let b = [0.0, 0.0, 1.0];
        let items: Vec<(&str, &[f32])> = vec![("t", &b), ("t", &a1), ("t", &a2), ("t", &a3)];
        let groups = group_by_similarity(&items, 0.7);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].members, vec![1, 2, 3]);
        assert_eq!(groups[1].members, vec![0]);
        assert_eq!(groups[1].representative, 0);
    }

    #[test]
    fn the_representative_is_the_member_nearest_the_mean() {
        // The middle vector lies between the two others, so it is nearest their mean.
        let left = [1.0, 0.0];
        let middle = [0.95, 0.3];
        let right = [0.8, 0.6];
        let items: Vec<(&str, &[f32])> = vec![("t", &left), ("t", &right), ("t", &middle)];
        let groups = group_by_similarity(&items, 0.7);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].representative, 2);
    }

    #[test]
    fn a_group_split_by_input_order_is_merged() {
        // b starts its own group (cosine 0.6 with a), c joins b (0.96); the mean of b and c is
        // 0.71 from a, so the three are one topic.
        let a = [1.0, 0.0];
        let b = [0.6, 0.8];
        let c = [0.8, 0.6];
        let items: Vec<(&str, &[f32])> = vec![("t", &a), ("t", &b), ("t", &c)];
        let groups = group_by_similarity(&items, 0.7);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].members, vec![0, 1, 2]);
        assert_eq!(groups[0].representative, 2);
    }

    #[test]
    fn tenants_never_share_a_group() {
        let v = [1.0, 0.0];
        let items: Vec<(&str, &[f32])> = vec![("a", &v), ("b", &v), ("a", &v)];
        let groups = group_by_similarity(&items, 0.7);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (groups[0].tenant.as_str(), &groups[0].members),
            ("a", &vec![0, 2])
        );
        assert_eq!(
            (groups[1].tenant.as_str(), &groups[1].members),
            ("b", &vec![1])
        );
    }

    #[test]
    fn the_threshold_decides() {
        // cosine([1, 0], [0.6, 0.8]) = 0.6
        let x = [1.0, 0.0];
        let y = [0.6, 0.8];
        let items: Vec<(&str, &[f32])> = vec![("t", &x), ("t", &y)];
        assert_eq!(group_by_similarity(&items, 0.7).len(), 2);
        assert_eq!(group_by_similarity(&items, 0.5).len(), 1);
        assert!(group_by_similarity(&[], 0.7).is_empty());
    }
}
