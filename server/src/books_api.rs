//! The JSON read API over the books (SPEC 8.4): lookups, campaigns with their
//! totals, gift traces, the key registry, receiving accounts, coverage and
//! feedback. Everything is derived from the rules' state after the committed
//! log: what the auditor recomputes from the leaves alone.

use crate::books::BooksState as RulesState;
use axum::Json;
use axum::extract::State;
use minhbach_ledger::api;
use minhbach_ledger::leaf::Leaf;
use minhbach_ledger::statement::{Channel, Slug, Statement};
use minhbach_ledger::store::LogStore as _;
use minhbach_ledger::summary;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiPath, ApiQuery};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LookupQuery {
    r#ref: Option<String>,
    channel: Option<String>,
    id: Option<String>,
}

fn parse_channel(s: &str) -> Result<Channel, ApiError> {
    serde_json::from_value(json!(s)).map_err(|_| {
        ApiError::Malformed(format!(
            "channel={s}: expected bank, cash, e_wallet or in_kind"
        ))
    })
}

/// The entry a lookup names: a donation by external reference (on `channel`,
/// or any channel), or any entry by statement id. Shared by the JSON API and
/// the explorer's search.
pub(crate) fn find_entry(
    s: &RulesState,
    r#ref: Option<&str>,
    channel: Option<&str>,
    id: Option<&str>,
) -> Result<u64, ApiError> {
    match (r#ref, id) {
        (Some(r), None) => {
            let channels = match channel {
                Some(c) => vec![parse_channel(c)?],
                None => vec![
                    Channel::Bank,
                    Channel::Cash,
                    Channel::EWallet,
                    Channel::InKind,
                ],
            };
            for c in channels {
                if let Some(index) = s.entry_of_ref(c, r)? {
                    return Ok(index);
                }
            }
            Err(ApiError::NotFound(format!(
                "no donation with reference {r}"
            )))
        }
        (None, Some(id)) if channel.is_none() => s
            .entry_of_id(id)?
            .map(|(i, _)| i)
            .ok_or_else(|| ApiError::NotFound(format!("no entry with statement id {id}"))),
        _ => Err(ApiError::Malformed(
            "give either ref (with an optional channel) or id".into(),
        )),
    }
}

/// `GET /api/v1/lookup?ref=REF[&channel=bank]` or `?id=STATEMENT_ID`.
pub(crate) async fn lookup(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<LookupQuery>,
) -> Result<Json<api::Lookup>, ApiError> {
    let index = find_entry(
        &state.books.read().state,
        q.r#ref.as_deref(),
        q.channel.as_deref(),
        q.id.as_deref(),
    )?;
    let (statement_id, kind) = state
        .read(move |view| {
            let leaf = view
                .store()
                .read_leaves(index, index + 1)
                .map_err(ApiError::internal)?
                .pop()
                .ok_or_else(|| ApiError::internal("an indexed entry is missing"))?;
            let leaf = Leaf::parse(&leaf).map_err(ApiError::internal)?;
            let statement =
                Statement::from_json(leaf.envelope.payload()).map_err(ApiError::internal)?;
            Ok((
                statement.id().as_str().to_owned(),
                statement.kind().as_str(),
            ))
        })
        .await?;
    Ok(Json(api::Lookup {
        index,
        kind: kind.to_owned(),
        statement_id,
    }))
}

/// A campaign: its summary (totals in, out, balance, by province and
/// commune) with what it was opened with.
fn campaign_json(state: &RulesState, slug: &Slug) -> Option<Value> {
    let c = state.campaign(slug)?;
    let s = summary::campaign(state, slug)?;
    let mut v = serde_json::to_value(&s).ok()?;
    let extra = json!({
        "title_i18n": c.title,
        "cause": c.cause,
        "priority": c.priority,
        "approval_policy": c.policy,
        "unit_rates": c.unit_rates,
        "opened_at": c.opened_at,
        "closed_at": c.closed_at,
    });
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
        obj.extend(extra);
    }
    Some(v)
}

/// Every campaign, by priority (1 first), then id: the order of the JSON
/// list and of the explorer's front page.
pub(crate) fn campaigns_by_priority(s: &RulesState) -> Vec<&Slug> {
    let mut list: Vec<(u8, &Slug)> = s
        .campaigns()
        .map(|(slug, c)| (u8::from(c.priority), slug))
        .collect();
    // Stable: campaigns iterate by id, so ties stay in id order.
    list.sort_by_key(|(p, _)| *p);
    list.into_iter().map(|(_, slug)| slug).collect()
}

/// `GET /api/v1/campaigns`: every campaign, by priority (1 first), then id.
pub(crate) async fn campaigns(State(state): State<AppState>) -> Json<Value> {
    let books = state.books.read();
    let s = &books.state;
    let list: Vec<Value> = campaigns_by_priority(s)
        .into_iter()
        .filter_map(|slug| campaign_json(s, slug))
        .collect();
    Json(json!({ "campaigns": list }))
}

/// `GET /api/v1/campaigns/{id}`: one campaign with its receiving accounts
/// and its latest entries (newest first).
pub(crate) async fn campaign(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Value>, ApiError> {
    let slug = Slug::new(&id).map_err(|e| ApiError::Malformed(format!("{id}: {e}")))?;
    let books = state.books.read();
    let s = &books.state;
    let mut v =
        campaign_json(s, &slug).ok_or_else(|| ApiError::NotFound(format!("no campaign {id}")))?;
    let accounts: Vec<Value> = s
        .accounts()
        .filter(|(_, a)| a.campaign == slug)
        .map(|(id, a)| account_json(id, a))
        .collect();
    let recent: Vec<Value> = books
        .recent
        .of(&slug)
        .map(|(index, kind)| json!({"index": index, "type": kind.as_str()}))
        .collect();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("accounts".into(), Value::Array(accounts));
        obj.insert("recent_entries".into(), Value::Array(recent));
    }
    Ok(Json(v))
}

/// `GET /api/v1/donations/{index}/trace` (SPEC 6.8).
pub(crate) async fn trace(
    State(state): State<AppState>,
    ApiPath(index): ApiPath<u64>,
) -> Result<Json<Value>, ApiError> {
    let books = state.books.read();
    let t = books
        .trace
        .trace(&books.state, index)?
        .ok_or_else(|| ApiError::NotFound(format!("entry {index} is not a donation")))?;
    serde_json::to_value(t)
        .map(Json)
        .map_err(ApiError::internal)
}

/// `GET /api/v1/keys`: the signer registry, revoked keys included.
pub(crate) async fn keys(State(state): State<AppState>) -> Json<api::Keys> {
    let books = state.books.read();
    let s = &books.state;
    let keys = s
        .keys()
        .into_iter()
        .map(|(keyid, k)| api::Key {
            keyid: keyid.to_string(),
            public_key: k.public_key.to_base64(),
            name: k.name.to_string(),
            title: k.title.as_ref().map(ToString::to_string),
            roles: k.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            scope: serde_json::to_value(&k.scope).unwrap_or(Value::Null),
            granted_at: k.granted_at,
            revoked_at: k.revoked_at,
        })
        .collect();
    Json(api::Keys {
        governance_threshold: s.config().map(|c| c.threshold),
        keys,
    })
}

fn account_json(id: &Slug, a: &minhbach_ledger::rules::Account) -> Value {
    json!({
        "account": id,
        "campaign": a.campaign,
        "kind": a.kind,
        "institution": a.institution.to_string(),
        "number": a.number,
        "holder": a.holder.to_string(),
        "asset": a.asset,
        "derived_balance": a.derived,
        "registered_at": a.registered_at,
        "closed_at": a.closed_at,
        "last_reconciliation": a.last.as_ref().map(|r| json!({
            "index": r.index,
            "date": r.date.to_string(),
            "bank_balance": r.bank_balance,
            "ledger_balance": r.ledger_balance,
            "matches": r.matches(),
        })),
    })
}

/// `GET /api/v1/accounts`: every registered receiving account, with the
/// balance the ledger derives and the last bank reconciliation.
pub(crate) async fn accounts(State(state): State<AppState>) -> Json<Value> {
    let books = state.books.read();
    let s = &books.state;
    let accounts: Vec<Value> = s.accounts().map(|(id, a)| account_json(id, a)).collect();
    let mismatches: Vec<Value> = summary::mismatches(s)
        .iter()
        .map(|r| {
            json!({"index": r.index, "account": r.account, "date": r.date.to_string(),
                   "bank_balance": r.bank_balance, "ledger_balance": r.ledger_balance})
        })
        .collect();
    Json(json!({"accounts": accounts, "mismatches": mismatches}))
}

/// `GET /api/v1/coverage`: households enrolled versus reached per commune and
/// category; small cells suppressed.
pub(crate) async fn coverage(State(state): State<AppState>) -> Json<Value> {
    let books = state.books.read();
    let cells = summary::coverage(&books.state, summary::DEFAULT_MIN_CELL);
    Json(json!({"min_cell": summary::DEFAULT_MIN_CELL, "cells": cells}))
}

/// `GET /api/v1/feedback`: per category, opened, resolved (on time), open and
/// overdue as of the last entry.
pub(crate) async fn feedback(State(state): State<AppState>) -> Json<Value> {
    let books = state.books.read();
    let (as_of, categories) = feedback_now(&books.state);
    Json(json!({"as_of": as_of, "categories": categories}))
}

/// Feedback per category as of the last entry (the core has no clock):
/// shared by the JSON API and the explorer.
pub(crate) fn feedback_now(
    s: &RulesState,
) -> (chrono::DateTime<chrono::Utc>, Vec<summary::FeedbackSummary>) {
    let as_of = s.last_logged_at().unwrap_or_default();
    (as_of, summary::feedback(s, as_of))
}
