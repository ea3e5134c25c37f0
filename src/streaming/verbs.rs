//! The verbs every kind shares: create, list, status, delete.

use anyhow::Context;
use clap::Subcommand;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, ResourceExt};
use riff_actors::resources::{ready, ready_summary};

use super::args::{CreateArgs, DeleteArgs, GoDuration, ListArgs, NameArgs};
use super::cluster::{api_error, is_not_found, offline_namespace, Cluster};
use super::kind::{not_found, Kind};
use super::{table, wait};

/// The read-only verbs: `list` and `status`.
#[derive(Subcommand)]
pub enum Query {
    /// Print a table of the resources of a namespace, or of every namespace.
    List(ListArgs),
    /// Print the Ready condition of a resource.
    Status(NameArgs),
}

/// Runs `list` or `status` on kind `K`.
pub async fn query<K: Kind>(query: Query) -> anyhow::Result<()> {
    match query {
        Query::List(args) => list::<K>(args).await,
        Query::Status(args) => status::<K>(args).await,
    }
}

/// Creates `object` under the name and namespace of `args`, after checking it exactly like the
/// controller would (so that an error names the field). With `--dry-run`, prints it instead;
/// with `--tail`, waits until it is ready, printing its logs.
pub async fn create<K: Kind>(mut object: K, args: CreateArgs) -> anyhow::Result<()> {
    let CreateArgs {
        name,
        namespace,
        dry_run,
        tail,
        wait_timeout,
    } = args;
    let cluster = if dry_run {
        None
    } else {
        Some(Cluster::connect(namespace.namespace.clone()).await?)
    };
    let namespace = match &cluster {
        Some(cluster) => cluster.namespace.clone(),
        None => offline_namespace(namespace.namespace).await,
    };
    object.meta_mut().name = Some(name.clone());
    object.meta_mut().namespace = Some(namespace);
    check(&object)?;
    let Some(cluster) = cluster else {
        print!("---\n{}", serde_norway::to_string(&object)?);
        eprintln!("Created {} {name:?}", K::NOUN);
        return Ok(());
    };
    let created = cluster
        .api::<K>()
        .create(&PostParams::default(), &object)
        .await
        .map_err(api_error)?;
    println!("Created {} {name:?}", K::NOUN);
    if tail {
        let timeout = match wait_timeout {
            Some(timeout) => timeout,
            None => GoDuration::parse(K::WAIT_TIMEOUT).map_err(anyhow::Error::msg)?,
        };
        wait::tail_until_ready(&cluster, &created, &timeout).await?;
        println!("{} {name:?} is ready", K::kind(&()));
    }
    Ok(())
}

/// Checks `object` as the controller will: defaulted, then validated (the object sent stays
/// undefaulted, for the server to default).
fn check<K: Kind>(object: &K) -> anyhow::Result<()> {
    let mut defaulted = object.clone();
    defaulted.apply_defaults();
    defaulted
        .validate()
        .map_err(|errors| anyhow::anyhow!("invalid {} {:?}: {errors}", K::NOUN, object.name_any()))
}

/// `list`: a table of the resources, sorted by namespace and name; `No <kinds> found.` when
/// there are none.
pub async fn list<K: Kind>(args: ListArgs) -> anyhow::Result<()> {
    let cluster = Cluster::connect(args.namespace).await?;
    let api: Api<K> = if args.all_namespaces {
        Api::all(cluster.client.clone())
    } else {
        cluster.api()
    };
    let mut items = api
        .list(&ListParams::default())
        .await
        .map_err(api_error)?
        .items;
    if items.is_empty() {
        println!("No {} found.", K::NOUNS);
        return Ok(());
    }
    items.sort_by_key(|item| (item.namespace(), item.name_any()));
    let now = Timestamp::now();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let namespace = item.namespace().unwrap_or_default();
            let mut row: Vec<String> = args
                .all_namespaces
                .then_some(namespace)
                .into_iter()
                .collect();
            row.push(item.name_any());
            row.extend(item.cells());
            row.push(ready_summary(item.conditions()));
            row.push(table::age(item.meta().creation_timestamp.as_ref(), now));
            row
        })
        .collect();
    let mut headers: Vec<&str> = args
        .all_namespaces
        .then_some("Namespace")
        .into_iter()
        .collect();
    headers.push("Name");
    headers.extend(K::COLUMNS);
    headers.extend(["Status", "Age"]);
    print!("{}", table::render(&headers, &rows));
    Ok(())
}

/// `status`: `# <name>: <Ready summary>`, then the Ready condition as YAML.
pub async fn status<K: Kind>(args: NameArgs) -> anyhow::Result<()> {
    let cluster = Cluster::connect(args.namespace.namespace).await?;
    let object = get::<K>(&cluster, &args.name).await?;
    let conditions = object.conditions();
    println!("# {}: {}", args.name, ready_summary(conditions));
    if let Some(ready) = ready(conditions) {
        let yaml = serde_norway::to_string(ready).context("cannot print the Ready condition")?;
        print!("---\n{yaml}");
    }
    Ok(())
}

/// The resource `name` of the command's namespace, or `<Kind> "<ns>/<name>" not found`.
pub async fn get<K: Kind>(cluster: &Cluster, name: &str) -> anyhow::Result<K> {
    cluster
        .api::<K>()
        .get_opt(name)
        .await
        .map_err(api_error)?
        .ok_or_else(|| not_found::<K>(&cluster.namespace, name))
}

/// `delete`: the named resources, one by one, or with `--all` every one of the namespace.
pub async fn delete<K: Kind>(args: DeleteArgs) -> anyhow::Result<()> {
    let cluster = Cluster::connect(args.namespace.namespace).await?;
    let api = cluster.api::<K>();
    if args.all {
        api.delete_collection(&DeleteParams::default(), &ListParams::default())
            .await
            .map_err(api_error)?;
        println!("Deleted {} in namespace {:?}", K::NOUNS, cluster.namespace);
        return Ok(());
    }
    for name in &args.names {
        api.delete(name, &DeleteParams::default())
            .await
            .map_err(|error| {
                if is_not_found(&error) {
                    not_found::<K>(&cluster.namespace, name)
                } else {
                    api_error(error)
                }
            })?;
        println!("Deleted {} {name:?}", K::NOUN);
    }
    Ok(())
}
