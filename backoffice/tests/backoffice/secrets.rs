//! No password, code, session id or key shows in the back office's logs or `Debug` output.

use crate::helpers::*;
use backoffice::domain::StaffPassword;
use gateway::secret::Secret;

paygate_test_support::on_both_engines!(passwords_codes_and_session_ids_stay_out_of_logs_and_debug_output,);

async fn passwords_codes_and_session_ids_stay_out_of_logs_and_debug_output(app: TestApp) {
    let (logs, _guard) = CapturedLogs::start();
    let office = Office::over(app).await;
    let browser = office.browser();
    let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "a@shop.example"), ("password", PASSWORD), ("merchant_name", "Shop")]).await;
    let confirm = page.location.unwrap();
    let signup_id = confirm.split("signup=").nth(1).unwrap().to_owned();
    let code = office.code_for("a@shop.example");
    let welcome = office.office.confirm_sign_up(&signup_id, &code, "192.0.2.1").await.unwrap();
    let session = welcome.session.expose().to_owned();
    let sk = welcome.keys.iter().map(|k| k.plain.value.expose().to_owned()).collect::<Vec<_>>();
    browser.sign_in("a@shop.example", "wrong password, logged?").await;
    let signed_in = office.office.session(&session, "192.0.2.1").await.unwrap().unwrap();
    let signup = office.office.stores.staff.find_signup(&signup_id).await.unwrap().unwrap();
    let credentials = office.office.stores.staff.find_staff_by_email("a@shop.example").await.unwrap().unwrap();

    let debug = format!(
        "{welcome:?} {signed_in:?} {signup:?} {credentials:?} {:?}",
        StaffPassword::parse(&Secret::new(PASSWORD)).unwrap()
    );
    let logged = logs.text();
    let mut secrets = vec![PASSWORD.to_owned(), "wrong password, logged?".to_owned(), session.clone(), signed_in.csrf_token.clone(), signed_in.session_hash.clone()];
    secrets.push(credentials.password_hash.expose().to_owned());
    secrets.extend(sk);
    for secret in &secrets {
        assert!(!debug.contains(secret.as_str()), "Debug output shows a secret: {debug}");
        assert!(!logged.contains(secret.as_str()), "the logs show a secret");
    }
    // (Only as a logged field: six digits may turn up inside any timestamp.)
    assert!(!logged.contains(&format!("code={code}")) && !logged.contains(&format!("code: {code}")), "the sign-up code stays out of the logs");
}
