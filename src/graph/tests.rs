use super::*;

fn graph(nodes: &[(&str, &[&str])]) -> Result<RevisionGraph, GraphError> {
    RevisionGraph::new(nodes.iter().map(|(id, ps)| (*id, ps.iter().copied())))
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn t(s: &str) -> Target {
    s.parse().unwrap()
}

/// a <- b <- c, b <- d, (c, d) <- m
fn diamond() -> RevisionGraph {
    graph(&[
        ("m", &["c", "d"]),
        ("c", &["b"]),
        ("d", &["b"]),
        ("b", &["a"]),
        ("a", &[]),
    ])
    .unwrap()
}

#[test]
fn linear_heads_bases_order() {
    let g = graph(&[("c", &["b"]), ("a", &[]), ("b", &["a"])]).unwrap();
    assert_eq!(g.heads(), ["c"]);
    assert_eq!(g.bases(), ["a"]);
    assert_eq!(g.topological().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert!(g.branch_points().is_empty());
}

#[test]
fn branches_and_merge() {
    let g = diamond();
    assert_eq!(g.heads(), ["m"]);
    assert_eq!(g.branch_points(), vec![("b", vec!["c", "d"])]);
    assert_eq!(g.parents("m"), ["c", "d"]);
    let unmerged = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a"])]).unwrap();
    assert_eq!(unmerged.heads(), ["b", "c"]);
    assert_eq!(
        unmerged.upgrade_goal(&Target::Head, &set(&[])),
        Err(GraphError::MultipleHeads(vec!["b".into(), "c".into()]))
    );
}

#[test]
fn bad_graphs() {
    assert_eq!(
        graph(&[("a", &[]), ("a", &[])]).unwrap_err(),
        GraphError::DuplicateRevision("a".into())
    );
    assert_eq!(
        graph(&[("a", &["zz"])]).unwrap_err(),
        GraphError::UnknownParent {
            revision: "a".into(),
            parent: "zz".into()
        }
    );
    assert_eq!(
        graph(&[("a", &["a"])]).unwrap_err(),
        GraphError::Cycle(vec!["a".into(), "a".into()])
    );
    let err = graph(&[("r", &[]), ("a", &["c"]), ("b", &["a"]), ("c", &["b"])]).unwrap_err();
    let GraphError::Cycle(members) = err else {
        panic!("expected a cycle, got {err:?}")
    };
    assert_eq!(members.len(), 4);
    assert_eq!(members.first(), members.last());
}

#[test]
fn targets_parse() {
    assert_eq!(t("head"), Target::Head);
    assert_eq!(t("base"), Target::Base);
    assert_eq!(t("+2"), Target::Relative(2));
    assert_eq!(t("-1"), Target::Relative(-1));
    assert_eq!(t("2026"), Target::Revision("2026".into()));
    assert!("+0".parse::<Target>().is_err());
    assert!("../x".parse::<Target>().is_err());
    assert!("".parse::<Target>().is_err());
}

#[test]
fn prefixes() {
    let g = graph(&[
        ("20261126110405", &[]),
        ("20261126120000", &["20261126110405"]),
    ])
    .unwrap();
    assert_eq!(g.resolve("2026112611").unwrap(), "20261126110405");
    assert_eq!(
        g.resolve("202611261").unwrap_err(),
        GraphError::AmbiguousPrefix {
            prefix: "202611261".into(),
            candidates: vec!["20261126110405".into(), "20261126120000".into()]
        }
    );
    assert_eq!(
        g.resolve("9").unwrap_err(),
        GraphError::UnknownRevision("9".into())
    );
}

#[test]
fn upgrade_through_merge() {
    let g = diamond();
    let goal = g.upgrade_goal(&Target::Head, &set(&[])).unwrap();
    assert_eq!(g.path(&goal, &set(&[])), ["a", "b", "c", "d", "m"]);
    let goal = g.upgrade_goal(&t("c"), &set(&["a"])).unwrap();
    assert_eq!(g.path(&goal, &set(&["a"])), ["b", "c"]);
    let goal = g.upgrade_goal(&t("+2"), &set(&["a"])).unwrap();
    assert_eq!(g.path(&goal, &set(&["a"])), ["b", "c"]);
}

#[test]
fn downgrade_through_merge() {
    let g = diamond();
    let all = set(&["a", "b", "c", "d", "m"]);
    let goal = g.downgrade_goal(&t("b"), &all).unwrap();
    assert_eq!(g.path(&goal, &all), ["m", "d", "c"]);
    let goal = g.downgrade_goal(&Target::Base, &all).unwrap();
    assert_eq!(g.path(&goal, &all), ["m", "d", "c", "b", "a"]);
    let goal = g.downgrade_goal(&t("-1"), &all).unwrap();
    assert_eq!(g.path(&goal, &all), ["m"]);
    // After reverting the merge the database sits on two revisions.
    assert_eq!(g.current(&set(&["a", "b", "c", "d"])), ["c", "d"]);
    assert_eq!(
        g.downgrade_goal(&t("-1"), &set(&["a", "b", "c", "d"])),
        Err(GraphError::AmbiguousRelative(vec!["c".into(), "d".into()]))
    );
}

#[test]
fn wrong_direction_is_an_error_not_a_no_op() {
    let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]).unwrap();
    let at_c = set(&["a", "b", "c"]);
    assert!(matches!(
        g.upgrade_goal(&t("a"), &at_c),
        Err(GraphError::UpgradeBehind { .. })
    ));
    assert!(matches!(
        g.downgrade_goal(&t("c"), &set(&["a"])),
        Err(GraphError::DowngradeAhead { .. })
    ));
    assert!(matches!(
        g.upgrade_goal(&t("-1"), &at_c),
        Err(GraphError::WrongDirection { .. })
    ));
    assert!(matches!(
        g.downgrade_goal(&t("+1"), &at_c),
        Err(GraphError::WrongDirection { .. })
    ));
    assert!(matches!(
        g.downgrade_goal(&t("-4"), &at_c),
        Err(GraphError::RelativeTooFar { .. })
    ));
    assert!(matches!(
        g.upgrade_goal(&t("+3"), &set(&["a"])),
        Err(GraphError::RelativeTooFar { .. })
    ));
    // Upgrading to where the database already is: nothing to do, no error.
    let goal = g.upgrade_goal(&t("c"), &at_c).unwrap();
    assert!(g.path(&goal, &at_c).is_empty());
}

#[test]
fn applied_revision_without_file() {
    let g = graph(&[("a", &[])]).unwrap();
    assert_eq!(
        g.upgrade_goal(&Target::Head, &set(&["a", "ghost"])),
        Err(GraphError::MissingApplied("ghost".into()))
    );
}

#[test]
fn path_is_next_step_repeated() {
    let g = diamond();
    let goals = [
        (
            Goal::Apply(set(&["a", "b", "c", "d", "m"])),
            set(&["a", "c"]),
        ),
        (Goal::Keep(set(&["a"])), set(&["a", "b", "c", "d"])),
    ];
    for (goal, start) in goals {
        let mut state = start.clone();
        let mut stepwise = Vec::new();
        while let Some(id) = g.next_step(&goal, &state) {
            match goal {
                Goal::Apply(_) => state.insert(id.to_string()),
                Goal::Keep(_) => state.remove(id),
            };
            stepwise.push(id);
        }
        assert_eq!(g.path(&goal, &start), stepwise);
    }
}
