//! `mqadmin`: RocketMQ's admin tool for Ferrocket (and any RocketMQ 4.x broker). Sub-command
//! names, their flags and their printed layout follow Apache RocketMQ 4.9.8's `tools`
//! module, so runbooks written for RocketMQ work unchanged; `--json` prints one JSON
//! document instead, for scripts. The name servers come from `-n` or `NAMESRV_ADDR`.
//!
//! Requests go out through [`rpc::Admin`]; each sub-command returns an [`Output`] (the text
//! and the JSON form) or an [`AdminError`], which the binary prints to stderr with a
//! non-zero exit status: 2 for usage errors, 1 for everything else.

pub mod broker;
pub mod consumer;
pub mod format;
pub mod message;
pub mod rpc;
pub mod topic;

pub use format::parse_timestamp;

use clap::{Args, Parser, Subcommand};

use crate::client::{ClientConfig, ClientError, ClientInstance};
use crate::protocol::code::{request_name, response_name};
use crate::protocol::ProtocolError;
use rpc::Admin;

/// What a sub-command printed: RocketMQ's text layout and the same facts as JSON.
#[derive(Debug, Default)]
pub struct Output {
    pub text: String,
    pub json: serde_json::Value,
}

impl Output {
    pub fn new(text: String, json: serde_json::Value) -> Self {
        Output { text, json }
    }

    /// What a sub-command that printed as it went (`clusterList -i`) returns: nothing more.
    pub fn printed() -> Self {
        Output::default()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.json.is_null()
    }

    /// Writes the output to `w` in the chosen form.
    pub fn write_to(&self, w: &mut impl std::io::Write, json: bool) -> std::io::Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        if json {
            writeln!(w, "{:#}", self.json)?;
        } else {
            write!(w, "{}", self.text)?;
        }
        w.flush()
    }
}

/// Why a sub-command failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("no name server address: pass -n host:port[;host:port] or set NAMESRV_ADDR")]
    NoNamesrv,
    #[error("connect to {addr} failed: {source}")]
    Unreachable { addr: String, source: ClientError },
    #[error("{addr} refused {}: code {code} ({}): {remark}", request_name(*request).unwrap_or("request"), response_name(*code).unwrap_or("unknown"))]
    Refused {
        addr: String,
        request: i32,
        code: i32,
        remark: String,
    },
    #[error("No topic route info in name server for the topic: {0}")]
    NoRoute(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Usage(String),
    #[error("cannot decode the answer: {0}")]
    Protocol(#[from] ProtocolError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl AdminError {
    /// The process exit status: 2 for a usage error, 1 for any other failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            AdminError::Usage(_) => 2,
            _ => 1,
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "mqadmin",
    about = "RocketMQ admin tool (sub-commands and flags of Apache RocketMQ 4.9.8's mqadmin)"
)]
pub struct Cli {
    /// Name server address list, e.g. '192.168.0.1:9876;192.168.0.2:9876'.
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR", global = true)]
    pub namesrv_addr: Option<String>,
    /// Print one JSON document instead of RocketMQ's text layout.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Update or create topic
    #[command(name = "updateTopic")]
    UpdateTopic(topic::UpdateTopicArgs),
    /// Delete topic from broker and NameServer.
    #[command(name = "deleteTopic")]
    DeleteTopic(topic::DeleteTopicArgs),
    /// Fetch all topic list from name server
    #[command(name = "topicList")]
    TopicList(topic::TopicListArgs),
    /// Examine topic route info
    #[command(name = "topicRoute")]
    TopicRoute(topic::TopicRouteArgs),
    /// Examine topic Status info
    #[command(name = "topicStatus")]
    TopicStatus(TopicArg),
    /// get cluster info for topic
    #[command(name = "topicClusterList")]
    TopicClusterList(TopicArg),
    /// Update topic perm
    #[command(name = "updateTopicPerm")]
    UpdateTopicPerm(topic::UpdateTopicPermArgs),
    /// List all of clusters
    #[command(name = "clusterList")]
    ClusterList(broker::ClusterListArgs),
    /// Fetch broker runtime status data
    #[command(name = "brokerStatus")]
    BrokerStatus(BrokerOrCluster),
    /// Get broker config by cluster or special broker!
    #[command(name = "getBrokerConfig")]
    GetBrokerConfig(BrokerOrCluster),
    /// Update broker's config
    #[command(name = "updateBrokerConfig")]
    UpdateBrokerConfig(broker::UpdateBrokerConfigArgs),
    /// Wipe write perm of broker in all name server you defined in the -n param
    #[command(name = "wipeWritePerm")]
    WipeWritePerm(BrokerNameArg),
    /// Add write perm of broker in all name server you defined in the -n param
    #[command(name = "addWritePerm")]
    AddWritePerm(BrokerNameArg),
    /// Query consumers's progress, speed
    #[command(name = "consumerProgress")]
    ConsumerProgress(consumer::ConsumerProgressArgs),
    /// Query consumer's socket connection, client version and subscription
    #[command(name = "consumerConnection")]
    ConsumerConnection(consumer::ConsumerConnectionArgs),
    /// Query producer's socket connection and client version
    #[command(name = "producerConnection")]
    ProducerConnection(consumer::ProducerConnectionArgs),
    /// Update or create subscription group
    #[command(name = "updateSubGroup")]
    UpdateSubGroup(consumer::UpdateSubGroupArgs),
    /// Delete subscription group from broker.
    #[command(name = "deleteSubGroup")]
    DeleteSubGroup(consumer::DeleteSubGroupArgs),
    /// Reset consumer offset by timestamp(without client restart).
    #[command(name = "resetOffsetByTime")]
    ResetOffsetByTime(consumer::ResetOffsetArgs),
    /// Skip all messages that are accumulated (not consumed) currently
    #[command(name = "skipAccumulatedMessage")]
    SkipAccumulatedMessage(consumer::SkipArgs),
    /// Query Message by Id
    #[command(name = "queryMsgById")]
    QueryMsgById(message::MsgIdArgs),
    /// Query Message by Key
    #[command(name = "queryMsgByKey")]
    QueryMsgByKey(message::MsgKeyArgs),
    /// Query Message by Unique key
    #[command(name = "queryMsgByUniqueKey")]
    QueryMsgByUniqueKey(message::UniqueKeyArgs),
    /// Query Message by offset
    #[command(name = "queryMsgByOffset")]
    QueryMsgByOffset(message::MsgOffsetArgs),
    /// Print Message Detail
    #[command(name = "printMsg")]
    PrintMsg(message::PrintMsgArgs),
    /// Send a message
    #[command(name = "sendMessage")]
    SendMessage(message::SendMessageArgs),
    /// Topic and Consumer tps stats
    #[command(name = "statsAll")]
    StatsAll(broker::StatsAllArgs),
    /// Create or update KV config.
    #[command(name = "updateKvConfig")]
    UpdateKvConfig(broker::KvArgs),
    /// Delete KV config.
    #[command(name = "deleteKvConfig")]
    DeleteKvConfig(broker::KvKeyArgs),
    /// Get configs of name server.
    #[command(name = "getNamesrvConfig")]
    GetNamesrvConfig,
    /// Update configs of name server.
    #[command(name = "updateNamesrvConfig")]
    UpdateNamesrvConfig(broker::UpdateNamesrvConfigArgs),
}

#[derive(Args, Debug)]
pub struct TopicArg {
    /// topic name
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

#[derive(Args, Debug)]
pub struct BrokerOrCluster {
    /// Broker address
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// which cluster
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
}

#[derive(Args, Debug)]
pub struct BrokerNameArg {
    /// broker name
    #[arg(short = 'b', long = "brokerName")]
    pub broker_name: String,
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<Output, AdminError> {
    let namesrv = cli
        .namesrv_addr
        .filter(|s| !s.trim().is_empty())
        .ok_or(AdminError::NoNamesrv)?;
    let client = ClientInstance::new(ClientConfig {
        namesrv_addr: namesrv,
        instance_name: format!("mqadmin-{}", crate::clock::now_millis()),
        ..Default::default()
    });
    let admin = Admin::new(client.clone(), cli.json);
    let out = dispatch(&admin, cli.command).await;
    client.shutdown().await;
    out
}

async fn dispatch(a: &Admin, command: Command) -> Result<Output, AdminError> {
    match command {
        Command::UpdateTopic(x) => topic::update_topic(a, x).await,
        Command::DeleteTopic(x) => topic::delete_topic(a, x).await,
        Command::TopicList(x) => topic::topic_list(a, x).await,
        Command::TopicRoute(x) => topic::topic_route(a, x).await,
        Command::TopicStatus(x) => topic::topic_status(a, x).await,
        Command::TopicClusterList(x) => topic::topic_cluster_list(a, x).await,
        Command::UpdateTopicPerm(x) => topic::update_topic_perm(a, x).await,
        Command::ClusterList(x) => broker::cluster_list(a, x).await,
        Command::BrokerStatus(x) => broker::broker_status(a, x).await,
        Command::GetBrokerConfig(x) => broker::get_broker_config(a, x).await,
        Command::UpdateBrokerConfig(x) => broker::update_broker_config(a, x).await,
        Command::WipeWritePerm(x) => broker::write_perm(a, x, false).await,
        Command::AddWritePerm(x) => broker::write_perm(a, x, true).await,
        Command::ConsumerProgress(x) => consumer::consumer_progress(a, x).await,
        Command::ConsumerConnection(x) => consumer::consumer_connection(a, x).await,
        Command::ProducerConnection(x) => consumer::producer_connection(a, x).await,
        Command::UpdateSubGroup(x) => consumer::update_sub_group(a, x).await,
        Command::DeleteSubGroup(x) => consumer::delete_sub_group(a, x).await,
        Command::ResetOffsetByTime(x) => consumer::reset_offset_by_time(a, x).await,
        Command::SkipAccumulatedMessage(x) => consumer::skip_accumulated(a, x).await,
        Command::QueryMsgById(x) => message::query_by_id(a, x).await,
        Command::QueryMsgByKey(x) => message::query_by_key(a, x).await,
        Command::QueryMsgByUniqueKey(x) => message::query_by_unique_key(a, x).await,
        Command::QueryMsgByOffset(x) => message::query_by_offset(a, x).await,
        Command::PrintMsg(x) => message::print_msg(a, x).await,
        Command::SendMessage(x) => message::send_message(a, x).await,
        Command::StatsAll(x) => broker::stats_all(a, x).await,
        Command::UpdateKvConfig(x) => broker::update_kv_config(a, x).await,
        Command::DeleteKvConfig(x) => broker::delete_kv_config(a, x).await,
        Command::GetNamesrvConfig => broker::get_namesrv_config(a).await,
        Command::UpdateNamesrvConfig(x) => broker::update_namesrv_config(a, x).await,
    }
}
