//! The typed method of each endpoint, and the calls made of several pages or chunks
//! (`roam_history`, `official_account_infos`): everything that names an endpoint.

use super::{ClientError, ImClient};
use crate::im::types::*;

/// The typed call of each endpoint: `name(Request) -> Response = Endpoint;`, each a method
/// that sends the request to that endpoint with [`ImClient::call`].
macro_rules! endpoint_methods {
    ($($(#[$doc:meta])* $name:ident($req:ty) -> $reply:ty = $endpoint:ident;)*) => {$(
        $(#[$doc])*
        pub async fn $name(&self, req: &$req) -> Result<$reply, ClientError> {
            self.call(Endpoint::$endpoint, req).await
        }
    )*};
}

impl ImClient {
    endpoint_methods! {
        /// `openim/sendmsg`.
        send_msg(SendMsgRequest) -> SendMsgResponse = SendMsg;
        /// `openim/batchsendmsg`. Partial failures come back in `ErrorList`; split them with
        /// [`crate::im::batch_outcomes`].
        batch_send_msg(BatchSendMsgRequest) -> BatchSendMsgResponse = BatchSendMsg;
        /// `send_official_account_msg`.
        send_official_account_msg(SendOfficialAccountMsgRequest)
            -> SendOfficialAccountMsgResponse = SendOfficialAccountMsg;
        /// `official_account_msg_recall`.
        official_account_msg_recall(OfficialAccountMsgRecallRequest)
            -> OfficialAccountMsgRecallResponse = OfficialAccountMsgRecall;
        /// `get_official_account_info`.
        get_official_account_info(GetOfficialAccountInfoRequest)
            -> GetOfficialAccountInfoResponse = GetOfficialAccountInfo;
        /// `send_stream_msg`: one chunk.
        send_stream_msg(SendStreamMsgRequest) -> SendStreamMsgResponse = SendStreamMsg;
        /// `admin_msgwithdraw`. 20023 (already recalled) counts as done for the caller.
        admin_msg_withdraw(MsgWithdrawRequest) -> MsgWithdrawResponse = AdminMsgWithdraw;
        /// `account_check`: up to 100 UserIDs.
        account_check(AccountCheckRequest) -> AccountCheckResponse = AccountCheck;
        /// `admin_getroammsg`: one page of a one-to-one conversation's history; see
        /// [`ImClient::roam_history`] for all of it.
        admin_get_roam_msg(GetRoamMsgRequest) -> GetRoamMsgResponse = AdminGetRoamMsg;
    }

    /// Every message of the conversation `first` asks for, newest first: pages fetched with
    /// `MaxTime` / `LastMsgKey` until `Complete` (at most `max_pages`, so a server that never
    /// completes cannot keep the caller forever). Without retries or pacing: callers that need
    /// them page with [`GetRoamMsgRequest::next_page`] themselves.
    pub async fn roam_history(
        &self,
        first: GetRoamMsgRequest,
        max_pages: usize,
    ) -> Result<Vec<RoamMsg>, ClientError> {
        let mut messages = Vec::new();
        let mut request = first;
        for _ in 0..max_pages.max(1) {
            let reply = self.admin_get_roam_msg(&request).await?;
            let complete = reply.is_complete();
            let next = request.next_page(&reply);
            messages.extend(reply.msg_list);
            match next {
                Some(next) => request = next,
                None if complete => return Ok(messages),
                None => {
                    return Err(ClientError::BadResponse {
                        endpoint: Endpoint::AdminGetRoamMsg,
                        detail: "the history is not complete but its next page would be the same"
                            .to_owned(),
                    });
                }
            }
        }
        Err(ClientError::BadResponse {
            endpoint: Endpoint::AdminGetRoamMsg,
            detail: format!(
                "the history was not complete after {} pages",
                max_pages.max(1)
            ),
        })
    }

    /// `get_official_account_info` for any number of accounts: one call per
    /// [`MAX_OFFICIAL_ACCOUNT_INFO_IDS`], the details of every call in order.
    pub async fn official_account_infos(
        &self,
        accounts: &[String],
        filter: Option<&ResponseFilter>,
    ) -> Result<Vec<OfficialAccountInfo>, ClientError> {
        let mut infos = Vec::with_capacity(accounts.len());
        for request in GetOfficialAccountInfoRequest::chunks(accounts, filter) {
            let reply = self.get_official_account_info(&request).await?;
            infos.extend(reply.official_account_info_list);
        }
        Ok(infos)
    }

    /// `get_all_robots`.
    pub async fn get_all_robots(&self) -> Result<GetAllRobotsResponse, ClientError> {
        self.call(Endpoint::GetAllRobots, &GetAllRobotsRequest {})
            .await
    }
}
