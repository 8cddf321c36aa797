//! netns-set and netns-list --ids. Each test runs its commands in a new
//! network namespace of its own (`unshare --net`), whose nsid table holds
//! only what the test puts there: the host's changes as other tests run.

use crate::util::{Sandbox, in_new_namespaces, in_new_netns, json};

#[test]
fn set_then_list_shows_the_ids() {
    let sb = Sandbox::with(&["a", "b", "c"]);
    let out = in_new_netns(
        &sb,
        "netns-set b 7; netns-set --json a auto; netns-set c 0x10; echo ---; \
         netns-list; echo ---; netns-list --json; echo ---; netns-list --ids; echo ---; \
         netns-list --ids --json",
    );
    assert_eq!(out.code, 0, "{out:?}");
    let parts: Vec<&str> = out.stdout.split("---\n").collect();
    assert_eq!(parts[0], "{\"name\":\"a\",\"nsid\":0}\n");
    assert_eq!(parts[1], "a (id: 0)\nb (id: 7)\nc (id: 16)\n");
    assert_eq!(
        json(parts[2]),
        json(r#"[{"name":"a","id":0},{"name":"b","id":7},{"name":"c","id":16}]"#)
    );
    assert_eq!(
        parts[3],
        "nsid 0 (iproute2 netns name: a)\nnsid 7 (iproute2 netns name: b)\n\
         nsid 16 (iproute2 netns name: c)\n"
    );
    assert_eq!(
        parts[4],
        "[{\"nsid\":0,\"name\":\"a\"},{\"nsid\":7,\"name\":\"b\"},{\"nsid\":16,\"name\":\"c\"}]\n"
    );
}

#[test]
fn ids_of_unnamed_namespaces_are_listed_without_a_name() {
    let sb = Sandbox::with(&["a"]);
    // A veth whose peer is in another namespace gets that namespace an
    // nsid from the kernel; that namespace has no name here.
    let out = in_new_netns(
        &sb,
        "unshare --net sleep 60 & pid=$!; \
         until [ \"$(readlink /proc/$pid/ns/net)\" != \"$(readlink /proc/self/ns/net)\" ]; \
         do sleep 0.01; done; \
         ip link add v0 type veth peer name v1 netns $pid; \
         netns-set a 5; netns-list --ids; netns-list --ids --json; kill $pid",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "nsid 0 \nnsid 5 (iproute2 netns name: a)\n[{\"nsid\":0},{\"nsid\":5,\"name\":\"a\"}]\n"
    );
}

#[test]
fn the_kernel_refuses_a_taken_id_and_a_second_id_plainly() {
    let sb = Sandbox::with(&["a", "b"]);
    let out = in_new_netns(
        &sb,
        "netns-set a 3; netns-set b 3 || echo $?; netns-set a 4 || echo $?",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "1\n1\n");
    let file = |n: &str| sb.file(n).display().to_string();
    assert_eq!(
        out.stderr,
        format!(
            "netns-set: cannot give \"{}\" nsid 3: The specified nsid is already used\n\
             netns-set: cannot give \"{}\" nsid 4: Peer netns already has a nsid assigned \
             (it has nsid 3)\n",
            file("b"),
            file("a")
        )
    );
}

#[test]
fn set_usage_errors_touch_nothing() {
    let sb = Sandbox::with(&["a"]);
    for args in [
        &["a"][..],
        &[],
        &["a", "-1"],
        &["a", "2147483648"],
        &["a", "x"],
        &["a", "1", "2"],
    ] {
        let out = sb.run("set", args);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (2, ""),
            "{args:?}: {out:?}"
        );
    }
    let out = sb.run("set", &["nope", "1"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.ends_with("/nope\": No such file or directory\n"),
        "{out:?}"
    );
}

/// NSIDs as `ip netns set` reads them (strtol(3) with base 0 into an int):
/// a sign, leading white space, 0x or 0X, a leading 0 for octal; a
/// negative one is refused with ip's reason, a usage error.
#[test]
fn set_takes_the_nsid_spellings_ip_takes() {
    let sb = Sandbox::with(&["a", "b", "c", "d", "e"]);
    let out = in_new_netns(
        &sb,
        "netns-set a +1; netns-set b ' 3'; netns-set c 0X10; netns-set d -0; \
         netns-set e '\t010'; netns-list",
    );
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (
            0,
            "a (id: 1)\nb (id: 3)\nc (id: 16)\nd (id: 0)\ne (id: 8)\n",
            ""
        ),
        "{out:?}"
    );
    for (nsid, why) in [
        ("-1", "the nsid should be >= 0 (or auto)"),
        ("-0x10", "the nsid should be >= 0 (or auto)"),
        ("-2147483649", "0 to 2147483647, or auto"),
        ("3 ", "0 to 2147483647, or auto"),
        ("08", "0 to 2147483647, or auto"),
    ] {
        let out = sb.run("set", &["a", nsid]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (
                2,
                format!(
                    "netns-set: invalid NSID \"{nsid}\": {why}\n\
                     Try 'netns-set --help' for more information.\n"
                )
                .as_str()
            ),
            "{nsid}"
        );
    }
}

/// More ids than the kernel puts in one dump part: every one is listed.
#[test]
fn three_hundred_ids_are_all_listed() {
    let sb = Sandbox::new();
    let names: String = (0..300).map(|i| format!("n{i:03}\n")).collect();
    assert_eq!(sb.run_stdin("add", &["-"], &names).code, 0);
    let out = in_new_netns(
        &sb,
        "for n in $(netns-list); do netns-set $n auto; done; netns-list --ids | wc -l; \
         netns-list | grep -c ' (id: '",
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "300\n300\n"),
        "{out:?}"
    );
}

/// More ids than the kernel gives in the one dump part it sends: the list
/// says on stderr that the dump was cut, and still shows every named
/// namespace's id (asked name by name); ip's list-id stops short. In a
/// mount namespace of the test's own whose /run/netns is a tmpfs, so that
/// `ip -batch` can give the ids fast.
#[test]
fn a_cut_nsid_dump_is_said_and_every_named_id_is_still_listed() {
    let sb = Sandbox::new();
    let script = "mount -t tmpfs -o mode=0755 netns-test /run; mkdir /run/netns
        export NETNS_RUN_DIR=/run/netns
        seq -f 'n%g' 1100 | netns-add -
        seq -f 'netns set n%g auto' 1100 | ip -batch -
        netns-list --ids | wc -l; netns-list | grep -c ' (id: '
        netns-list --ids --json | grep -o '\"nsid\"' | wc -l
        [ \"$(ip netns list-id | wc -l)\" -lt 1100 ] && echo 'ip: fewer'";
    let out = in_new_namespaces(&sb, &["--net", "--mount"], script);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "1100\n1100\n1100\nip: fewer\n", "{out:?}");
    let warning = "netns-list: warning: the kernel ended its list of nsids after ";
    assert_eq!(out.stderr.matches(warning).count(), 2, "{out:?}");
    assert!(
        out.stderr
            .contains("ids of namespaces with no name may be missing"),
        "{out:?}"
    );
}

/// A name unmounted while the list looks at it (a delete under way) is
/// listed without an id; the list does not fail. strace holds the list's
/// open of that name back while the test unmounts it: once a thread of
/// the list has been in a tracing stop for 50 ms, it is held there.
#[test]
fn a_name_unmounted_during_the_list_does_not_fail_it() {
    let sb = Sandbox::with(&["a", "z"]);
    let script = format!(
        "netns-set a 2; netns-set z 1; \
         strace -f -qq -o /dev/null -e inject=openat:delay_enter=1000000 -P {a} \
           netns-list > {out} & st=$!; \
         held() {{ grep -qs 'tracing stop' /proc/$l/task/*/status; }}; \
         for i in $(seq 1000); do \
           l=$(cat /proc/$st/task/$st/children 2>/dev/null); l=${{l%% *}}; \
           [ -n \"$l\" ] && held && sleep 0.05 && held && break; sleep 0.01; \
         done; \
         umount {a}; wait $st; cat {out}",
        a = sb.file("a").display(),
        out = sb.file("a").with_file_name("../listed").display(),
    );
    let out = in_new_netns(&sb, &script);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "a\nz (id: 1)\n"),
        "{out:?}"
    );
}
